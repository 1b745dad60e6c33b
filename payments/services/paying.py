"""The buyer pays: the PaymentIntent, then success or failure as the gateway reports it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from echo_site.errors import ErrorCode, ServiceError
from orders import hooks
from orders.models import Order, OrderStatus
from orders.selectors import is_admin

from .. import live
from ..gateway import GatewayError, get_gateway, to_cents
from ..models import FUNDED_STATUSES, Payment, PaymentStatus, Provider
from ._common import CANCEL_REFUND_KEY, _metadata, logger, transfer_group_for
from .fees import platform_fee_for
from .refunds import refund_create


def payment_start(*, order: Order, actor: Any) -> tuple[Payment, bool]:
    """Create (once) the order's payment and its PaymentIntent; returns (payment, created).

    Calling it again returns the same payment. With the simulated gateway the payment succeeds
    at once.
    """
    if actor.pk != order.buyer_id:
        if order.is_party(actor.pk) or is_admin(actor):
            raise ServiceError(ErrorCode.WRONG_ROLE, "Only the buyer pays for an order.")
        raise ServiceError(ErrorCode.NOT_A_PARTY, "You are not a party to this order.")
    gateway = get_gateway()
    with transaction.atomic():
        locked = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
        payment = Payment.objects.filter(order=locked).first()
        created = payment is None
        if payment is None:
            if locked.status != OrderStatus.PENDING:
                raise ServiceError(
                    ErrorCode.ORDER_NOT_PAYABLE,
                    f"Only a pending order can be paid; this one is {locked.status}.",
                    extra={"status": locked.status},
                )
            payment = Payment.objects.create(
                order=locked,
                provider=Provider.SIMULATED if gateway.simulated else Provider.STRIPE,
                currency=settings.PAYMENTS_CURRENCY,
                total_amount=locked.final_price,
            )

    if not payment.payment_intent_id:
        # Outside the transaction: a retry (or a concurrent call) sends the same key and Stripe
        # answers with the same PaymentIntent.
        try:
            intent = gateway.create_payment_intent(
                amount_cents=to_cents(payment.total_amount),
                currency=payment.currency,
                transfer_group=transfer_group_for(order.pk),
                metadata=_metadata(order.pk, payment_id=payment.pk),
                idempotency_key=f"payment-order-{order.pk}",
            )
        except GatewayError as exc:
            logger.warning("payment_start order=%s failed: %s", order.pk, exc)
            raise ServiceError(
                ErrorCode.PAYMENT_PROVIDER_ERROR,
                "The payment provider could not be reached; try again.",
            ) from exc
        Payment.objects.filter(pk=payment.pk, payment_intent_id__isnull=True).update(
            payment_intent_id=intent.id,
            client_secret=intent.client_secret,
            updated_at=timezone.now(),
        )
        payment.refresh_from_db()
        if gateway.simulated and intent.status == "succeeded":
            payment_mark_succeeded(
                payment_intent_id=payment.payment_intent_id or "", charge_id=intent.charge_id
            )
            payment.refresh_from_db()
    return payment, created


def _lock_payment_and_order(payment_intent_id: str) -> tuple[Payment, Order] | None:
    """Lock the order, then its payment (the same order order_move locks them in)."""
    order_id = (
        Payment.objects.filter(payment_intent_id=payment_intent_id)
        .values_list("order_id", flat=True)
        .first()
    )
    if order_id is None:
        return None
    order = Order.objects.select_for_update(no_key=True).get(pk=order_id)
    payment = Payment.objects.select_for_update().get(order_id=order_id)
    payment.order = order
    return payment, order


def payment_mark_succeeded(
    *, payment_intent_id: str, charge_id: str, amount_cents: int | None = None
) -> Payment | None:
    """Record the buyer's money as received. Idempotent; None for an unknown intent.

    The platform fee is computed here, once, and stored. A payment that arrives for an order
    cancelled meanwhile is refunded in full.
    """
    with transaction.atomic():
        found = _lock_payment_and_order(payment_intent_id)
        if found is None:
            logger.info("payment_intent %s is not one of ours; ignored", payment_intent_id)
            return None
        payment, order = found
        if payment.status in FUNDED_STATUSES:
            return payment
        if amount_cents is not None and amount_cents != to_cents(payment.total_amount):
            logger.error(
                "payment_intent %s amount %s does not match order #%s; not recorded",
                payment_intent_id,
                amount_cents,
                order.pk,
            )
            return None
        payment.status = PaymentStatus.SUCCEEDED
        payment.payment_date = timezone.now()
        payment.stripe_tx_id = charge_id or payment.stripe_tx_id
        payment.failure_message = ""
        if payment.platform_fee is None:
            payment.platform_fee = platform_fee_for(total=payment.total_amount)
        payment.save()
        live.payment_succeeded(payment=payment)
        hooks.event_happened(order=order, kind=hooks.EVENT_PAID, actor_id=order.buyer_id, data={})
        if order.status == OrderStatus.CANCELLED:
            refund_create(
                payment=payment,
                idempotency_key=CANCEL_REFUND_KEY,
                reason="Paid after the order was cancelled",
            )
    return payment


def payment_mark_failed(*, payment_intent_id: str, message: str = "") -> Payment | None:
    """Record a failed attempt; never downgrades a payment that has succeeded."""
    with transaction.atomic():
        found = _lock_payment_and_order(payment_intent_id)
        if found is None:
            return None
        payment, _ = found
        if payment.status not in (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED):
            return payment
        message = (message or "The payment failed.")[:500]
        if payment.status != PaymentStatus.FAILED or payment.failure_message != message:
            payment.status = PaymentStatus.FAILED
            payment.failure_message = message
            payment.save(update_fields=["status", "failure_message", "updated_at"])
            live.payment_failed(payment=payment)
    return payment
