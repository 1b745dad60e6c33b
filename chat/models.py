"""What the live layer stores: when a user's credentials were last revoked (logout).

The heartbeat of every process reads it from the database with the users' `is_active`, so a
logout closes the user's sockets everywhere even when its broadcast was lost (Redis down).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CredentialRevocation(models.Model):
    """Credentials of `user` obtained at or before `revoked_at` no longer open or keep a socket."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="credential_revocation",
    )
    revoked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"credentials of user {self.user_id} revoked at {self.revoked_at.isoformat()}"
