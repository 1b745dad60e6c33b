"""Retrying what failed: payouts, refunds and transfer reversals, under the same keys."""

from __future__ import annotations

from datetime import timedelta

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
    for account_user in (
        Payout.objects.filter(status=PayoutStatus.WAITING_FOR_ACCOUNT)
        .values_list("creator_id", flat=True)
        .distinct()
    ):
        if _enabled_account(account_user) is not None:
            with transaction.atomic():
                counts["released"] += _release_waiting_payouts(user_id=account_user)
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
