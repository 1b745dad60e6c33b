"""Account-level writes that the live layer must hear about."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from echo_site import events
from echo_site.realtime import broadcast_on_commit, sockets_group

from . import presence
from .models import CredentialRevocation


def user_logout(*, request: HttpRequest, user: Any, refresh: str | None = None) -> None:
    """Log out everywhere this request can reach; every socket of the user closes with 4401.

    The broadcast closes them at once; the revocation time closes them on every process's next
    heartbeat from the database if the broadcast is lost (Redis down), and refuses new sockets
    with a credential obtained before it."""
    with transaction.atomic():
        CredentialRevocation.objects.update_or_create(
            user_id=user.pk, defaults={"revoked_at": timezone.now()}
        )
        if refresh:
            try:
                RefreshToken(refresh).blacklist()  # type: ignore[arg-type]
            except TokenError:
                pass  # already invalid: nothing to revoke
        if request.session.session_key:
            logout(request)
        broadcast_on_commit(
            groups=[sockets_group(user.pk)], event=events.AUTH_REVOKED, data={"user_id": user.pk}
        )


def live_cleanup() -> dict[str, int]:
    """The periodic clean-up (chat.cleanup): refresh tokens past their lifetime, with their
    blacklist entries (a token past its lifetime is refused anyway), and stale presence entries.
    Websocket tickets need none: they live in the `tickets` cache with a TTL of their own."""
    with transaction.atomic():
        tokens, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return {"tokens": tokens, "presence": presence.purge_stale()}
