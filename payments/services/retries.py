"""Retrying what failed: payouts, refunds and transfer reversals, under the same keys.

Two ways in: the worker's `payments.retry_due` (every SWEEP_INTERVAL_SECONDS) enqueues what is due
by its backoff (`next_attempt_at`) or was never run (a lost message), and leaves alone rows marked
for an admin; `manage.py payments_retry`, the manual lever, runs everything unfinished now, those
marked rows included (a success clears the mark).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Payout, PayoutStatus, Refund, RefundStatus
from .payouts import _enabled_account, _release_waiting_payouts, payout_execute
from .refunds import refund_execute


def payments_retry(*, min_age_seconds: int | None = None) -> dict[str, int]:
    """Run again every payout and refund whose gateway call failed or never ran.

    Rows younger than `min_age_seconds` are left alone: their first attempt may be running.
    The same idempotency keys go out again, so a call that did reach Stripe is not repeated.
    """
    age = settings.PAYMENTS_RETRY_MIN_AGE_SECONDS if min_age_seconds is None else min_age_seconds
    cutoff = timezone.now() - timedelta(seconds=age)
    counts = {"payouts": 0, "refunds": 0, "released": 0}
    counts["released"] = payouts_release_waiting()
    for payout_id in Payout.objects.filter(
        status__in=[PayoutStatus.PENDING, PayoutStatus.FAILED], updated_at__lte=cutoff
    ).values_list("pk", flat=True):
        payout_execute(payout_id=payout_id)
        counts["payouts"] += 1
    for refund_id in Refund.objects.filter(
        Q(status__in=[RefundStatus.PENDING, RefundStatus.FAILED])
        | Q(reversal_amount__gt=0, stripe_reversal_id=""),
        updated_at__lte=cutoff,
    ).values_list("pk", flat=True):
        refund_execute(refund_id=refund_id)
        counts["refunds"] += 1
    return counts


def payments_due(*, now: datetime | None = None) -> dict[str, list[int]]:
    """{"payouts": ids, "refunds": ids} the worker should run now: failed ones whose backoff has
    passed, and pending ones untouched for PAYMENTS_RETRY_MIN_AGE_SECONDS (their message was lost).
    Rows marked for an admin are not retried automatically."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.PAYMENTS_RETRY_MIN_AGE_SECONDS)
    payouts = Payout.objects.filter(needs_admin=False).filter(
        Q(status=PayoutStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=PayoutStatus.PENDING, updated_at__lte=stale)
    )
    refunds = Refund.objects.filter(needs_admin=False).filter(
        Q(status=RefundStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=RefundStatus.PENDING, updated_at__lte=stale)
        | Q(
            status=RefundStatus.SUCCEEDED,
            reversal_amount__gt=0,
            stripe_reversal_id="",
            updated_at__lte=stale,
        )
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )
    return {
        "payouts": list(payouts.order_by("pk").values_list("pk", flat=True)[:500]),
        "refunds": list(refunds.order_by("pk").values_list("pk", flat=True)[:500]),
    }


def payouts_release_waiting() -> int:
    """Payouts waiting for an account whose creator now has one: released (and executed)."""
    released = 0
    for account_user in (
        Payout.objects.filter(status=PayoutStatus.WAITING_FOR_ACCOUNT)
        .values_list("creator_id", flat=True)
        .distinct()
    ):
        if _enabled_account(account_user) is not None:
            with transaction.atomic():
                released += _release_waiting_payouts(user_id=account_user)
    return released
