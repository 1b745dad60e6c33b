"""The order room's frames built from the database (sync code; the rooms run it in a thread)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from echo_site import events
from orders.live import event_data
from orders.models import Delivery, Order, OrderEvent
from orders.rooms import timeline_payloads_after
from orders.selectors import unread_counts_for_user, with_payment_and_dispute_state
from orders.serializers import OrderSerializer, delivery_payload
from orders.state import allowed_moves

# Timeline notices replay under the frame name they were broadcast with.
NOTICE_FRAMES = {"late": events.ORDER_LATE, "reminder": events.ORDER_REMINDER}


def order_snapshot(order: Order, user: Any) -> dict[str, Any]:
    return dict(OrderSerializer(order, context={"request": SimpleNamespace(user=user)}).data)


def with_allowed_moves(order: dict[str, Any], user: Any) -> dict[str, Any]:
    """An order payload from a broadcast, with the moves this user may make now."""
    view = SimpleNamespace(
        status=order["status"], buyer_id=order["buyer_id"], creator_id=order["creator_id"]
    )
    moves = allowed_moves(
        order=view,  # type: ignore[arg-type]
        user_id=user.pk,
        is_admin=user.is_staff,
        paid=bool(order.get("is_paid", True)),
        disputed=order.get("open_dispute_id") is not None,
    )
    return {**order, "allowed_moves": moves}


def order_status_frame(order: dict[str, Any], event: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"type": events.ORDER_STATUS, "order": with_allowed_moves(order, user), "event": event}


def order_timeline_frames(
    *, order_id: int, user: Any, after: int, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    entries = timeline_payloads_after(order_id=order_id, after=after, limit=limit)
    event_ids = [entry.event_id for entry in entries if entry.event_id is not None]
    moves: dict[int, OrderEvent] = {}
    snapshot: dict[str, Any] | None = None
    if event_ids:  # moves are few: read them and the order as the REST API renders them
        moves = OrderEvent.objects.select_related("actor").in_bulk(event_ids)
        # Its payment and dispute state read with it: one query, not two per rendered field.
        order = with_payment_and_dispute_state(Order.objects.select_related("item")).get(
            pk=order_id
        )
        snapshot = order_snapshot(order, user)
    delivery_ids = [entry.delivery_id for entry in entries if entry.delivery_id is not None]
    deliveries: dict[int, Delivery] = {}
    if delivery_ids:
        deliveries = (
            Delivery.objects.select_related("order")
            .prefetch_related("attachments")
            .in_bulk(delivery_ids)
        )
    frames: list[tuple[int, dict[str, Any]]] = []
    for entry in entries:
        if entry.delivery_id is not None:
            delivery = deliveries[entry.delivery_id]
            payload = delivery_payload(delivery, revisions_allowed=delivery.order.revisions_allowed)
            frames.append(
                (
                    entry.seq,
                    {
                        "type": events.DELIVERY_NEW,
                        "order_id": order_id,
                        "seq": entry.seq,
                        "delivery": payload,
                    },
                )
            )
            continue
        if entry.message is not None:
            frames.append((entry.seq, {"type": events.MESSAGE_NEW, "message": entry.message}))
        elif entry.event_id is not None:
            event = event_data(moves[entry.event_id])
            kind = NOTICE_FRAMES.get(event["kind"], events.ORDER_STATUS)
            frames.append((entry.seq, {"type": kind, "order": snapshot, "event": event}))
    return frames


def unread_by_order(user: Any) -> dict[str, int]:
    """{order_id: unread messages} for the caller's 200 most recent orders with any unread."""
    return {
        str(order_id): count for order_id, count in unread_counts_for_user(user_id=user.pk).items()
    }
