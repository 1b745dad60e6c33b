"""Sending what people missed, in the worker: thin tasks on beat's schedule. `notify.send_due`
(every NOTIFY_SEND_INTERVAL_SECONDS) sends what is due, each row at most once (claimed under a
lock, notify/sending.py); a transient failure (SMTP or a push service down) is retried with
backoff and leaves the rows unsent for the next run. `notify.prune` (daily) forgets finished rows
after NOTIFY_KEEP_DAYS."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from .errors import NotifyTransientError
from .sending import notify_prune, notify_send_due


@shared_task(
    name="notify.send_due",
    autoretry_for=(NotifyTransientError, DatabaseError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def send_due() -> dict[str, Any]:
    return asdict(notify_send_due(now=timezone.now()))


@shared_task(name="notify.prune", autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3)
def prune() -> int:
    return notify_prune(before=timezone.now() - timedelta(days=settings.NOTIFY_KEEP_DAYS))
