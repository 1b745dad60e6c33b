"""The creator's payout on completion: recorded with the move, transferred after commit."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from orders.models import Order

from .. import live
from ..gateway import get_gateway, to_cents
from ..models import FUNDED_STATUSES, CreatorAccount, Payment, Payout, PayoutStatus, Refund
from ._common import (
    DONE,
    _error_text,
    _execute_later,
    _metadata,
    _retry_plan,
    logger,
    transfer_group_for,
)
from .fees import creator_share_of
from .refunds import _reverse_transfer_for


def _enabled_account(user_id: int) -> CreatorAccount | None:
    return (
        CreatorAccount.objects.filter(user_id=user_id, payouts_enabled=True)
        .exclude(stripe_account_id=None)
        .first()
    )


def payout_create(*, order: Order) -> Payout | None:
    """Record the creator's payout for a completed order (total - fee); transfer after commit.

    Runs inside order_move's transaction. Without a connected account the payout waits.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(order_id=order.pk).first()
        if payment is None or payment.status not in FUNDED_STATUSES:
            logger.warning("order #%s completed without a received payment", order.pk)
            return None
        existing = Payout.objects.filter(payment=payment).first()
        if existing is not None:
            return existing
        payment.order = order
        assert payment.platform_fee is not None  # noqa: S101
        account = _enabled_account(order.creator_id)
        payout = Payout.objects.create(
            payment=payment,
            creator_id=order.creator_id,
            amount=payment.total_amount - payment.platform_fee,
            status=PayoutStatus.PENDING if account else PayoutStatus.WAITING_FOR_ACCOUNT,
        )
        live.payout_changed(payout=payout)
        if account is not None:
            _execute_later("payments.payout_execute", payout_id=payout.pk)
    return payout


def payout_execute(*, payout_id: int) -> Payout:
    """Send the payout's Transfer (source_transaction = the charge). Safe to repeat.

    The amount and destination are fixed at the first attempt, so a retry sends the same request
    under the same idempotency key (payout-order-<order id>).
    """
    gateway = get_gateway()
    with transaction.atomic():
        # The payment's row only (`of`: not the joined payout), then the payout: the lock order.
        payment = Payment.objects.select_for_update(of=("self",)).get(payout__pk=payout_id)
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        payout.payment = payment
        if payout.status not in (PayoutStatus.PENDING, PayoutStatus.FAILED):
            return payout
        if payout.transfer_amount is None:
            account = _enabled_account(payout.creator_id)
            if account is None:
                payout.status = PayoutStatus.WAITING_FOR_ACCOUNT
                payout.save(update_fields=["status", "updated_at"])
                live.payout_changed(payout=payout)
                return payout
            payout.destination = account.stripe_account_id or ""
            payout.transfer_amount = payout.amount - creator_share_of(
                payment=payment, refunded=payment.refunded_amount
            )
        if payout.transfer_amount == 0:
            payout.status = PayoutStatus.NOT_NEEDED
            payout.save()
            live.payout_changed(payout=payout)
            return payout
        payout.attempts += 1
        payout.save()
    try:
        transfer_ref = gateway.create_transfer(
            amount_cents=to_cents(payout.transfer_amount),
            currency=payment.currency,
            destination=payout.destination,
            source_transaction=payment.stripe_tx_id,
            transfer_group=transfer_group_for(payment.order_id),
            metadata=_metadata(payment.order_id, payout_id=payout.pk),
            idempotency_key=f"payout-order-{payment.order_id}",
        )
    except Exception as exc:
        logger.warning("payout %s failed: %s", payout.pk, _error_text(exc))
        with transaction.atomic():
            failed = Payout.objects.filter(
                pk=payout.pk, status__in=[PayoutStatus.PENDING, PayoutStatus.FAILED]
            ).update(
                status=PayoutStatus.FAILED,
                last_error=_error_text(exc),
                updated_at=timezone.now(),
                **_retry_plan(payout.attempts),
            )
            payout.refresh_from_db()
            if failed:
                live.payout_changed(payout=payout)
        return payout
    with transaction.atomic():
        now = timezone.now()
        paid = (
            Payout.objects.filter(pk=payout.pk)
            .exclude(status=PayoutStatus.PAID)
            .update(
                status=PayoutStatus.PAID,
                stripe_transfer_id=transfer_ref,
                last_error="",
                paid_at=now,
                updated_at=now,
                **DONE,
            )
        )
        payout.refresh_from_db()
        if paid:
            live.payout_changed(payout=payout)
    # Refunds recorded while the transfer was on its way reverse their part now.
    for refund in Refund.objects.filter(
        payment_id=payment.pk, reversal_amount__gt=0, stripe_reversal_id=""
    ).select_related("payment"):
        _reverse_transfer_for(refund=refund)
    return payout


def _release_waiting_payouts(*, user_id: int) -> int:
    released = 0
    for payout_id in Payout.objects.filter(
        creator_id=user_id, status=PayoutStatus.WAITING_FOR_ACCOUNT
    ).values_list("pk", flat=True):
        moved = Payout.objects.filter(pk=payout_id, status=PayoutStatus.WAITING_FOR_ACCOUNT).update(
            status=PayoutStatus.PENDING, updated_at=timezone.now()
        )
        if moved:
            released += 1
            live.payout_changed(payout=Payout.objects.select_related("payment").get(pk=payout_id))
            _execute_later("payments.payout_execute", payout_id=payout_id)
    return released
