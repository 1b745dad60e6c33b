"""Helpers the payment services share: gateway error text, after-commit calls, metadata."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

from ..gateway import GatewayError

logger = logging.getLogger("payments.services")

CANCEL_REFUND_KEY = "order-cancelled"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, GatewayError):
        return str(exc)[:500]
    return f"{type(exc).__name__}"[:500]


def _after_commit(fn: Callable[[], Any]) -> None:
    # robust: a failing gateway call after commit is logged, never turned into a failed request.
    transaction.on_commit(fn, robust=True)


def _metadata(order_id: int, **more: Any) -> dict[str, str]:
    return {"order_id": str(order_id), **{k: str(v) for k, v in more.items()}}


def transfer_group_for(order_id: int) -> str:
    return f"order-{order_id}"
