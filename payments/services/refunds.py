"""Refunds, once per idempotency key, made at the gateway after commit (with transfer reversals)."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from echo_site.errors import ErrorCode, ServiceError

from .. import live
from ..gateway import CENT, get_gateway, to_cents
from ..models import FUNDED_STATUSES, Payment, PaymentStatus, Payout, Refund, RefundStatus
from ._common import DONE, _error_text, _execute_later, _metadata, _retry_plan, logger
from .fees import creator_share_of


def _validate_refund_input(idempotency_key: str, amount: Decimal | None) -> str:
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        raise ServiceError(
            ErrorCode.INVALID,
            "idempotency_key: Required.",
            fields={"idempotency_key": ["Required."]},
        )
    key = idempotency_key.strip()
    if len(key) > 100:
        raise ServiceError(
            ErrorCode.INVALID,
            "idempotency_key: At most 100 characters.",
            fields={"idempotency_key": ["At most 100 characters."]},
        )
    if amount is not None:
        if not isinstance(amount, Decimal):
            raise TypeError("money must be Decimal")
        if amount <= 0 or amount != amount.quantize(CENT):
            raise ServiceError(
                ErrorCode.INVALID,
                "amount: Must be greater than 0 with at most 2 decimal places.",
                fields={"amount": ["Must be greater than 0 with at most 2 decimal places."]},
            )
    return key


def _record_refund(
    *, payment: Payment, key: str, amount: Decimal, reason: str, done_refund_id: str = ""
) -> Refund:
    """Record a refund on a locked payment. `done_refund_id`: Stripe already made it."""
    reversal = Decimal("0")
    payout = Payout.objects.select_for_update().filter(payment=payment).first()
    if payout is not None and payout.transfer_amount is not None:
        # The transfer has gone (or is going) out: take the creator's matching part back.
        before = creator_share_of(payment=payment, refunded=payment.refunded_amount)
        after = creator_share_of(payment=payment, refunded=payment.refunded_amount + amount)
        reversal = after - before
    payment.refunded_amount += amount
    payment.status = (
        PaymentStatus.REFUNDED
        if payment.refunded_amount == payment.total_amount
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    payment.save(update_fields=["refunded_amount", "status", "updated_at"])
    now = timezone.now()
    refund = Refund.objects.create(
        payment=payment,
        idempotency_key=key,
        amount=amount,
        reason=reason[:200],
        reversal_amount=reversal,
        status=RefundStatus.SUCCEEDED if done_refund_id else RefundStatus.PENDING,
        stripe_refund_id=done_refund_id,
        completed_at=now if done_refund_id else None,
    )
    live.payment_refunded(payment=payment, refund=refund)
    _execute_later("payments.refund_execute", refund_id=refund.pk)
    return refund


def refund_create(
    *,
    payment: Payment,
    idempotency_key: str,
    amount: Decimal | None = None,
    reason: str = "",
) -> Refund:
    """Refund `amount` (None: everything not yet refunded) of a payment, once per key.

    The caller's key is unique per payment (database constraint): a retry with the same key
    returns the first refund and changes nothing. The total refunded never exceeds what was paid
    (checked under the payment's row lock). For the disputes issue: full and partial refunds.
    """
    key = _validate_refund_input(idempotency_key, amount)
    try:
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            existing = Refund.objects.filter(payment=locked, idempotency_key=key).first()
            if existing is not None:
                if amount is not None and existing.amount != amount:
                    raise ServiceError(
                        ErrorCode.IDEMPOTENCY_KEY_REUSED,
                        "This idempotency key was used for a different refund amount.",
                        extra={"refund_id": existing.pk, "amount": str(existing.amount)},
                    )
                return existing
            if locked.status not in FUNDED_STATUSES:
                raise ServiceError(
                    ErrorCode.PAYMENT_NOT_REFUNDABLE,
                    f"A payment that is {locked.status} cannot be refunded.",
                    extra={"payment_status": locked.status},
                )
            remaining = locked.total_amount - locked.refunded_amount
            value = remaining if amount is None else amount
            if value <= 0 or value > remaining:
                raise ServiceError(
                    ErrorCode.REFUND_EXCEEDS_PAID,
                    f"At most {remaining} {locked.currency.upper()} can still be refunded.",
                    extra={"refundable_amount": str(remaining)},
                )
            refund = _record_refund(payment=locked, key=key, amount=value, reason=reason)
    except IntegrityError as exc:  # pragma: no cover - the row lock serializes same-key calls
        existing = Refund.objects.filter(payment_id=payment.pk, idempotency_key=key).first()
        if existing is None:
            raise
        logger.info("refund key %s raced: %s", key, exc)
        return existing
    payment.refunded_amount = locked.refunded_amount
    payment.status = locked.status
    return refund


def refund_execute(*, refund_id: int) -> Refund:
    """Make the recorded refund at the gateway (and its transfer reversal). Safe to repeat."""
    gateway = get_gateway()
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    payment = refund.payment
    if refund.status != RefundStatus.SUCCEEDED:
        Refund.objects.filter(pk=refund.pk).update(
            attempts=F("attempts") + 1, updated_at=timezone.now()
        )
        try:
            refund_ref = gateway.create_refund(
                payment_intent_id=payment.payment_intent_id or "",
                amount_cents=to_cents(refund.amount),
                metadata=_metadata(payment.order_id, refund_id=refund.pk),
                idempotency_key=f"refund-{refund.pk}",
            )
        except Exception as exc:
            logger.warning("refund %s failed: %s", refund.pk, _error_text(exc))
            Refund.objects.filter(pk=refund.pk).exclude(status=RefundStatus.SUCCEEDED).update(
                status=RefundStatus.FAILED,
                last_error=_error_text(exc),
                updated_at=timezone.now(),
                **_retry_plan(refund.attempts + 1),
            )
            refund.refresh_from_db()
            return refund
        now = timezone.now()
        Refund.objects.filter(pk=refund.pk).exclude(status=RefundStatus.SUCCEEDED).update(
            status=RefundStatus.SUCCEEDED,
            stripe_refund_id=refund_ref,
            last_error="",
            completed_at=now,
            updated_at=now,
            **DONE,
        )
        refund.refresh_from_db()
    if refund.reversal_pending:
        _reverse_transfer_for(refund=refund)
        refund.refresh_from_db()
    return refund


def _reverse_transfer_for(*, refund: Refund) -> None:
    """Take the creator's part of `refund` back from the payout's transfer, once."""
    payout = Payout.objects.filter(payment_id=refund.payment_id).first()
    if payout is None or not payout.stripe_transfer_id:
        return  # the transfer is not out yet; payout_execute runs this once it is
    try:
        reversal_ref = get_gateway().create_transfer_reversal(
            transfer_id=payout.stripe_transfer_id,
            amount_cents=to_cents(refund.reversal_amount),
            metadata=_metadata(refund.payment.order_id, refund_id=refund.pk),
            idempotency_key=f"refund-{refund.pk}-reversal",
        )
    except Exception as exc:
        logger.warning("transfer reversal for refund %s failed: %s", refund.pk, _error_text(exc))
        attempts = refund.attempts + 1
        Refund.objects.filter(pk=refund.pk).update(
            attempts=attempts,
            last_error=_error_text(exc),
            updated_at=timezone.now(),
            **_retry_plan(attempts),
        )
        return
    with transaction.atomic():
        done = Refund.objects.filter(pk=refund.pk, stripe_reversal_id="").update(
            stripe_reversal_id=reversal_ref, last_error="", updated_at=timezone.now(), **DONE
        )
        if done:
            Payout.objects.filter(pk=payout.pk).update(
                reversed_amount=F("reversed_amount") + refund.reversal_amount,
                updated_at=timezone.now(),
            )
