"""The live layer's periodic clean-up task (thin, idempotent)."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from . import services


@shared_task(name="chat.cleanup", autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3)
def live_cleanup() -> dict[str, int]:
    return services.live_cleanup()
