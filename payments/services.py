"""Every payment write.

Keyword-only, typed, each owning its transaction. Calls to the gateway (Stripe) never run inside
a transaction that holds the order's row lock: the Refund or Payout row is recorded in the
transaction, and the gateway call runs after commit (`transaction.on_commit`) under an idempotency
key derived from the row. A failed call leaves the row FAILED; `manage.py payments_retry` calls the
same `refund_execute` / `payout_execute` again with the same key.

Lock order, everywhere: order row, then payment row, then payout row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from echo_site.errors import ErrorCode, ServiceError
from orders.models import Order, OrderStatus
from orders.selectors import is_admin

from . import live
from .gateway import (
    CENT,
    ChargeInfo,
    GatewayError,
    IntentInfo,
    account_from_stripe,
    charge_from_stripe,
    from_cents,
    get_gateway,
    intent_from_stripe,
    is_simulated,
    to_cents,
)
from .models import (
    FUNDED_STATUSES,
    PAID_STATUSES,
    CreatorAccount,
    Payment,
    PaymentStatus,
    Payout,
    PayoutStatus,
    Provider,
    Refund,
    RefundStatus,
    StripeEvent,
)

logger = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_SECONDS = 300
CANCEL_REFUND_KEY = "order-cancelled"


# --- Money --------------------------------------------------------------------------------------


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


# --- The order state machine's hooks (called from orders.services.order_move) ------------------


def order_move_guard(*, order: Order, to_status: str) -> None:
    """Nobody accepts (PENDING -> IN_PROGRESS) an order the buyer has not paid."""
    if order.status == OrderStatus.PENDING and to_status == OrderStatus.IN_PROGRESS:
        paid = Payment.objects.filter(order_id=order.pk, status__in=PAID_STATUSES).exists()
        if not paid:
            raise ServiceError(
                ErrorCode.ORDER_NOT_PAID,
                "The buyer has not paid for this order yet; it cannot be accepted.",
                extra={"status": order.status},
            )


def order_moved(*, order: Order, from_status: str, to_status: str) -> None:
    """React to a move, inside order_move's transaction (the order row is locked)."""
    if to_status == OrderStatus.CANCELLED:
        payment = Payment.objects.filter(order_id=order.pk).first()
        if payment is not None and payment.status in PAID_STATUSES:
            refund_create(
                payment=payment,
                idempotency_key=CANCEL_REFUND_KEY,
                reason="Order cancelled",
            )
    elif to_status == OrderStatus.COMPLETED:
        payout_create(order=order)


# --- Paying -------------------------------------------------------------------------------------


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
        locked = Order.objects.select_for_update().get(pk=order.pk)
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
    order = Order.objects.select_for_update().get(pk=order_id)
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


# --- Refunds ------------------------------------------------------------------------------------


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
    _after_commit(partial(refund_execute, refund_id=refund.pk))
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
                status=RefundStatus.FAILED, last_error=_error_text(exc), updated_at=timezone.now()
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
        Refund.objects.filter(pk=refund.pk).update(
            last_error=_error_text(exc), updated_at=timezone.now()
        )
        return
    with transaction.atomic():
        done = Refund.objects.filter(pk=refund.pk, stripe_reversal_id="").update(
            stripe_reversal_id=reversal_ref, last_error="", updated_at=timezone.now()
        )
        if done:
            Payout.objects.filter(pk=payout.pk).update(
                reversed_amount=F("reversed_amount") + refund.reversal_amount,
                updated_at=timezone.now(),
            )


# --- Payouts ------------------------------------------------------------------------------------


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
            _after_commit(partial(payout_execute, payout_id=payout.pk))
    return payout


def payout_execute(*, payout_id: int) -> Payout:
    """Send the payout's Transfer (source_transaction = the charge). Safe to repeat.

    The amount and destination are fixed at the first attempt, so a retry sends the same request
    under the same idempotency key (payout-order-<order id>).
    """
    gateway = get_gateway()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(payout__pk=payout_id)
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
                status=PayoutStatus.FAILED, last_error=_error_text(exc), updated_at=timezone.now()
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


# --- Creators' connected accounts ---------------------------------------------------------------


def account_connect(*, user: Any, refresh_url: str, return_url: str) -> tuple[CreatorAccount, str]:
    """Create the user's Stripe Express account (once) and an onboarding link for it."""
    gateway = get_gateway()
    try:
        with transaction.atomic():
            account, _ = CreatorAccount.objects.get_or_create(user=user)
    except IntegrityError:
        account = CreatorAccount.objects.get(user=user)
    try:
        if not account.stripe_account_id:
            info = gateway.create_account(
                email=getattr(user, "email", "") or "",
                metadata={"user_id": str(user.pk)},
                idempotency_key=f"account-user-{user.pk}",
            )
            CreatorAccount.objects.filter(pk=account.pk, stripe_account_id=None).update(
                stripe_account_id=info.id, updated_at=timezone.now()
            )
            account.refresh_from_db()
            if info.payouts_enabled and account.stripe_account_id == info.id:
                account_sync(stripe_account_id=info.id, payouts_enabled=True)
                account.refresh_from_db()
        url = gateway.create_account_link(
            account_id=account.stripe_account_id or "",
            refresh_url=refresh_url,
            return_url=return_url,
        )
    except GatewayError as exc:
        logger.warning("account_connect user=%s failed: %s", user.pk, exc)
        raise ServiceError(
            ErrorCode.PAYMENT_PROVIDER_ERROR,
            "The payment provider could not be reached; try again.",
        ) from exc
    return account, url


def account_sync(*, stripe_account_id: str, payouts_enabled: bool) -> CreatorAccount | None:
    """Record whether a connected account can receive payouts; release waiting payouts."""
    with transaction.atomic():
        account = (
            CreatorAccount.objects.select_for_update()
            .filter(stripe_account_id=stripe_account_id)
            .first()
        )
        if account is None:
            return None
        if account.payouts_enabled != payouts_enabled:
            account.payouts_enabled = payouts_enabled
            account.save(update_fields=["payouts_enabled", "updated_at"])
        if payouts_enabled:
            _release_waiting_payouts(user_id=account.user_id)
    return account


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
            _after_commit(partial(payout_execute, payout_id=payout_id))
    return released


# --- Retrying what failed -----------------------------------------------------------------------


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


# --- Webhooks -----------------------------------------------------------------------------------


def _malformed_event() -> ServiceError:
    return ServiceError(ErrorCode.INVALID, "The webhook body is not a Stripe event.")


def _event_object(event: dict[str, Any]) -> dict[str, Any]:
    """The event's data.object with its id: a signed body of another shape is a 400."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
        raise _malformed_event()
    return obj


def _verify(payload: bytes, signature: str | None) -> dict[str, Any]:
    secrets = [s.strip() for s in settings.STRIPE_WEBHOOK_SECRET.split(",") if s.strip()]
    if not secrets:
        raise ServiceError(
            ErrorCode.WEBHOOK_SIGNATURE_INVALID,
            "Webhooks are not configured (STRIPE_WEBHOOK_SECRET is unset).",
        )
    for secret in secrets:  # the platform endpoint's and the Connect endpoint's secrets
        try:
            event = stripe.Webhook.construct_event(
                payload, signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError:
            continue
        # Signed, but not a JSON object (a list, a string, nested too deeply, not UTF-8).
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            raise _malformed_event() from exc
        return event.to_dict()
    raise ServiceError(
        ErrorCode.WEBHOOK_SIGNATURE_INVALID,
        "The Stripe-Signature header is missing, does not match the body, or is too old.",
    )


def _current_intent(obj: dict[str, Any]) -> IntentInfo:
    gateway = get_gateway()
    return (
        intent_from_stripe(obj) if gateway.simulated else gateway.retrieve_payment_intent(obj["id"])
    )


def _current_charge(obj: dict[str, Any]) -> ChargeInfo:
    gateway = get_gateway()
    return charge_from_stripe(obj) if gateway.simulated else gateway.retrieve_charge(obj["id"])


def _on_payment_intent(intent: IntentInfo) -> None:
    if intent.status == "succeeded":
        payment_mark_succeeded(
            payment_intent_id=intent.id,
            charge_id=intent.charge_id,
            amount_cents=intent.amount_cents,
        )
    elif intent.status in ("requires_payment_method", "canceled"):
        payment_mark_failed(
            payment_intent_id=intent.id, message=intent.last_error or f"Payment {intent.status}."
        )
    # processing, requires_action, ...: a later event brings the outcome.


def _on_charge(charge: ChargeInfo) -> None:
    """Refunds made outside this service (the Stripe dashboard) are recorded too."""
    if not charge.payment_intent_id:
        return
    if charge.amount_refunded_cents > 0:
        # Only a paid charge can be refunded. Stripe does not promise delivery order: when this
        # event overtakes payment_intent.succeeded, record the payment first (idempotent), or the
        # refund below would be dropped as "not funded yet" and this event marked done.
        payment_mark_succeeded(
            payment_intent_id=charge.payment_intent_id,
            charge_id=charge.id,
            amount_cents=charge.amount_cents,
        )
    with transaction.atomic():
        found = _lock_payment_and_order(charge.payment_intent_id)
        if found is None:
            return
        payment, _ = found
        recorded = to_cents(payment.refunded_amount)
        extra = min(charge.amount_refunded_cents, to_cents(payment.total_amount)) - recorded
        if extra <= 0 or payment.status not in FUNDED_STATUSES:
            return  # our own refunds are recorded before Stripe hears of them
        _record_refund(
            payment=payment,
            key=f"stripe-{charge.id}-{charge.amount_refunded_cents}",
            amount=from_cents(extra),
            reason="Refunded on Stripe",
            done_refund_id=f"external:{charge.id}",
        )


def _current_account(obj: dict[str, Any]) -> Any:
    gateway = get_gateway()
    return account_from_stripe(obj) if gateway.simulated else gateway.retrieve_account(obj["id"])


def _on_account(account: Any) -> None:
    account_sync(stripe_account_id=account.id, payouts_enabled=account.payouts_enabled)


# type -> (read the object's current state, apply it). Reads happen before the transaction.
_HANDLERS: dict[str, tuple[Callable[[dict[str, Any]], Any], Callable[[Any], None]]] = {
    "payment_intent.succeeded": (_current_intent, _on_payment_intent),
    "payment_intent.payment_failed": (_current_intent, _on_payment_intent),
    "payment_intent.canceled": (_current_intent, _on_payment_intent),
    "charge.refunded": (_current_charge, _on_charge),
    "account.updated": (_current_account, _on_account),
}


def webhook_handle(*, payload: bytes, signature: str | None) -> str:
    """Verify and apply one Stripe event, once. Returns "processed", "ignored" or "duplicate".

    The StripeEvent row (unique event id) is inserted in the same transaction as the effects: a
    redelivery changes nothing, and a handler failing midway rolls everything back and raises,
    so Stripe delivers again.
    """
    event = _verify(payload, signature)
    event_id = event.get("id")
    event_type = event.get("type")
    if not (isinstance(event_id, str) and event_id and isinstance(event_type, str)):
        raise _malformed_event()
    if len(event_id) > 255:
        raise _malformed_event()
    if StripeEvent.objects.filter(event_id=event_id).exists():
        return "duplicate"
    handler = _HANDLERS.get(event_type)
    # Handlers read the object's current state rather than trust the order events arrive in.
    state = None
    if handler:
        obj = _event_object(event)
        try:
            state = handler[0](obj)
        except (KeyError, TypeError, ValueError) as exc:  # fields missing or of the wrong type
            raise _malformed_event() from exc
    try:
        with transaction.atomic():
            StripeEvent.objects.create(
                event_id=event_id, type=event_type[:100], handled=handler is not None
            )
            if handler:
                handler[1](state)
    except IntegrityError:
        if StripeEvent.objects.filter(event_id=event_id).exists():
            return "duplicate"  # a concurrent delivery of the same event won
        raise
    return "processed" if handler else "ignored"


def payments_simulated() -> bool:
    return is_simulated()
