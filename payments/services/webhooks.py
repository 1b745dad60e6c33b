"""Stripe webhooks: verified, applied once (a StripeEvent row per event id, same transaction)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from echo_site.errors import ErrorCode, ServiceError

from ..gateway import (
    ChargeInfo,
    IntentInfo,
    account_from_stripe,
    charge_from_stripe,
    from_cents,
    get_gateway,
    intent_from_stripe,
    to_cents,
)
from ..models import FUNDED_STATUSES, StripeEvent
from .connect import account_sync
from .paying import _lock_payment_and_order, payment_mark_failed, payment_mark_succeeded
from .refunds import _record_refund

WEBHOOK_TOLERANCE_SECONDS = 300


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
