"""Money arithmetic: the platform fee and the creator's share of a refund (Decimal, to the cent)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from ..gateway import CENT
from ..models import Payment


def platform_fee_for(*, total: Decimal, percent: Decimal | None = None) -> Decimal:
    """PLATFORM_FEE_PERCENT of `total`, rounded half-up to the cent."""
    if not isinstance(total, Decimal):
        raise TypeError("money must be Decimal")
    pct = Decimal(settings.PLATFORM_FEE_PERCENT) if percent is None else percent
    return (total * pct / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


def creator_share_of(*, payment: Payment, refunded: Decimal) -> Decimal:
    """The creator's matching part of `refunded`: payout/total of it, rounded half-up.

    Refunds are shared between platform and creator in proportion to fee and payout. Computed on
    the cumulative refunded amount, so the parts of successive refunds add up exactly: a full
    refund takes back exactly the whole payout.
    """
    assert payment.platform_fee is not None  # noqa: S101 - set when the payment succeeded
    payout = payment.total_amount - payment.platform_fee
    return (refunded * payout / payment.total_amount).quantize(CENT, rounding=ROUND_HALF_UP)
