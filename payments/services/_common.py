"""Helpers the payment services share: gateway error text, after-commit calls, metadata."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from echo_site.background import enqueue_on_commit

from ..gateway import GatewayError

logger = logging.getLogger("payments.services")

CANCEL_REFUND_KEY = "order-cancelled"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, GatewayError):
        return str(exc)[:500]
    return f"{type(exc).__name__}"[:500]


def _execute_later(task: str, **kwargs: Any) -> None:
    """The gateway call runs in a worker after commit (echo_site/background.py), not in the
    request; the periodic `payments.retry_due` finds it again if the message is lost."""
    enqueue_on_commit(task, **kwargs)


# The longest wait between two attempts.
RETRY_CAP = timedelta(hours=6)


def _retry_plan(attempts: int) -> dict[str, Any]:
    """The retry columns after failed attempt number `attempts`: when to try again
    (PAYMENTS_RETRY_BASE_SECONDS doubled per attempt), or, after PAYMENTS_RETRY_MAX_ATTEMPTS,
    no more tries: marked for an admin (last_error holds the reason)."""
    if attempts >= settings.PAYMENTS_RETRY_MAX_ATTEMPTS:
        return {"next_attempt_at": None, "needs_admin": True}
    delay = timedelta(seconds=settings.PAYMENTS_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return {"next_attempt_at": _now() + min(delay, RETRY_CAP), "needs_admin": False}


def _now() -> datetime:
    return timezone.now()


DONE = {"next_attempt_at": None, "needs_admin": False}


def _metadata(order_id: int, **more: Any) -> dict[str, str]:
    return {"order_id": str(order_id), **{k: str(v) for k, v in more.items()}}


def transfer_group_for(order_id: int) -> str:
    return f"order-{order_id}"
