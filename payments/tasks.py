"""Money moves in the background: thin tasks (an id in, a service call), each safe to repeat
(the row's status and the same gateway idempotency key). A failed gateway call is recorded on the
row with its backoff (payments/services/_common.py `_retry_plan`); `payments.retry_due` runs what
is due again, until the row succeeds or is marked for an admin."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from echo_site.background import enqueue

from . import services
from .models import Payout, Refund

_RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "max_retries": 8}


@shared_task(name="payments.payout_execute", **_RETRY)
def payout_execute(*, payout_id: int) -> str | None:
    try:
        return str(services.payout_execute(payout_id=payout_id).status)
    except Payout.DoesNotExist:
        return None


@shared_task(name="payments.refund_execute", **_RETRY)
def refund_execute(*, refund_id: int) -> str | None:
    try:
        return str(services.refund_execute(refund_id=refund_id).status)
    except Refund.DoesNotExist:
        return None


@shared_task(name="payments.retry_due", autoretry_for=(DatabaseError,), max_retries=3)
def retry_due() -> dict[str, int]:
    released = services.payouts_release_waiting()
    due = services.payments_due()
    for payout_id in due["payouts"]:
        enqueue("payments.payout_execute", payout_id=payout_id)
    for refund_id in due["refunds"]:
        enqueue("payments.refund_execute", refund_id=refund_id)
    return {"released": released, "payouts": len(due["payouts"]), "refunds": len(due["refunds"])}
