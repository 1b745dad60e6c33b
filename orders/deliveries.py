"""Deliveries: the creator's work with its files, the buyer's answer, and revision rounds.

Each function is one service (keyword-only, validated, one transaction) like those in
orders/services.py; the status moves go through `order_move`, so the state machine, the payment
and dispute guards and the money reactions are the same as for the status endpoint.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from echo_site.errors import ErrorCode, ServiceError

from . import live
from .attachments.services import MAX_PER_DELIVERY, attachments_claim
from .models import MAX_REVISIONS, Delivery, Order, OrderEvent, OrderEventKind, OrderStatus
from .selectors import is_admin
from .serializers import attachment_payload
from .services import _invalid, _lock_order, order_move


def _clean_text(field: str, value: Any, *, required: bool, limit: int) -> str:
    if not isinstance(value, str):
        raise _invalid(field, "Must be a string.")
    value = value.strip()
    if required and not value:
        raise _invalid(field, "Must not be empty.")
    if len(value) > limit:
        raise _invalid(field, f"At most {limit} characters.")
    return value


def delivery_submit(
    *, order: Order, creator: Any, message: str, attachment_ids: list[int] | None = None
) -> Delivery:
    """The creator delivers: a message (1 to MESSAGE_MAX_LENGTH characters) and up to 10 of the
    creator's uploads on this order. In one transaction the delivery takes the next seq on the
    order's timeline and the order moves IN_PROGRESS -> DELIVERED (the seq after it); both are
    broadcast after commit (delivery.new, then order.status)."""
    text = _clean_text("message", message, required=True, limit=settings.MESSAGE_MAX_LENGTH)
    if order.creator_id != creator.pk:
        if order.is_party(creator.pk) or is_admin(creator):
            raise ServiceError(ErrorCode.WRONG_ROLE, "Only the order's creator delivers.")
        raise ServiceError(ErrorCode.NOT_A_PARTY, "You are not a party to this order.")
    with transaction.atomic():
        locked = _lock_order(order.pk)
        if locked.status != OrderStatus.IN_PROGRESS:
            raise ServiceError(
                ErrorCode.INVALID_TRANSITION,
                f"An order that is {locked.status} takes no delivery; it must be IN_PROGRESS.",
                extra={"status": locked.status},
            )
        seq = locked.last_seq + 1
        Order.objects.filter(pk=locked.pk).update(last_seq=seq)
        locked.last_seq = seq
        delivery = Delivery.objects.create(
            order=locked, seq=seq, creator=creator, message=text, revision=locked.revisions_used
        )
        files = attachments_claim(
            order=locked,
            uploader=creator,
            ids=attachment_ids or [],
            limit=MAX_PER_DELIVERY,
            delivery=delivery,
        )
        delivery.attachment_payloads = [attachment_payload(a) for a in files]  # type: ignore[attr-defined]
        live.delivery_submitted(order=locked, delivery=delivery)
        # The move itself (its guards, its seq, order.status); a refusal rolls all of it back.
        order_move(order=locked, actor=creator, to_status=OrderStatus.DELIVERED)
    for name in ("status", "last_seq", "updated_at"):
        setattr(order, name, getattr(locked, name))
    return delivery


def _latest_delivery(*, order: Order, delivery_id: int) -> Delivery:
    delivery = Delivery.objects.filter(pk=delivery_id, order_id=order.pk).first()
    if delivery is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"Delivery {delivery_id} does not exist.")
    latest = Delivery.objects.filter(order_id=order.pk).order_by("-seq").values("pk").first()
    if latest is None or latest["pk"] != delivery.pk or delivery.decision:
        raise ServiceError(
            ErrorCode.INVALID_TRANSITION,
            "Only the latest delivery, while it awaits an answer, can be accepted or revised.",
            extra={"status": order.status},
        )
    return delivery


def delivery_accept(*, order: Order, buyer: Any, delivery_id: int) -> OrderEvent:
    """The buyer accepts the latest delivery: the order moves DELIVERED -> COMPLETED."""
    _latest_delivery(order=order, delivery_id=delivery_id)
    return order_move(order=order, actor=buyer, to_status=OrderStatus.COMPLETED)


def delivery_request_revision(
    *, order: Order, buyer: Any, delivery_id: int, reason: str
) -> OrderEvent:
    """The buyer asks for another round on the latest delivery, saying why (1 to 1000
    characters): DELIVERED -> IN_PROGRESS, or 409 revisions_exhausted when none is left."""
    reason = _clean_text("reason", reason, required=True, limit=1000)
    _latest_delivery(order=order, delivery_id=delivery_id)
    return order_move(order=order, actor=buyer, to_status=OrderStatus.IN_PROGRESS, note=reason)


def revisions_grant(*, order: Order, creator: Any, count: int, note: str = "") -> OrderEvent:
    """The creator grants `count` (1 to 20) extra revision rounds, recorded on the timeline
    (an OrderEvent of kind revisions_granted, broadcast as order.status)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_REVISIONS:
        raise _invalid("count", f"From 1 to {MAX_REVISIONS}.")
    note = _clean_text("note", note or "", required=False, limit=900)
    if order.creator_id != creator.pk:
        if order.is_party(creator.pk) or is_admin(creator):
            raise ServiceError(ErrorCode.WRONG_ROLE, "Only the order's creator grants revisions.")
        raise ServiceError(ErrorCode.NOT_A_PARTY, "You are not a party to this order.")
    with transaction.atomic():
        locked = _lock_order(order.pk)
        if locked.status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED):
            raise ServiceError(
                ErrorCode.INVALID_TRANSITION,
                f"The order is {locked.status}; nothing to revise.",
                extra={"status": locked.status},
            )
        if locked.revisions_included is None:
            raise _invalid("count", "This order's revisions are unlimited already.")
        if locked.revisions_granted + count > 10 * MAX_REVISIONS:
            raise _invalid("count", "That is more revision rounds than an order may have.")
        seq = locked.last_seq + 1
        now = timezone.now()
        granted = locked.revisions_granted + count
        Order.objects.filter(pk=locked.pk).update(
            last_seq=seq, revisions_granted=granted, updated_at=now
        )
        locked.last_seq, locked.revisions_granted, locked.updated_at = seq, granted, now
        text = f"Granted {count} extra revision round(s)." + (f" {note}" if note else "")
        event = OrderEvent.objects.create(
            order=locked,
            seq=seq,
            actor=creator,
            from_status=locked.status,
            to_status=locked.status,
            note=text,
            kind=OrderEventKind.REVISIONS_GRANTED,
        )
        live.order_moved(order=locked, event=event)
    for name in ("last_seq", "revisions_granted", "updated_at"):
        setattr(order, name, getattr(locked, name))
    return event
