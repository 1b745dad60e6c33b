"""What the order domain announces to live clients: "something happened on order N".

Services call these inside their transaction; `broadcast_on_commit` holds each event until the
commit. Every event goes to the order's room and to both parties' notification feeds.
"""

from __future__ import annotations

from typing import Any

from echo_site import events
from echo_site.realtime import broadcast_on_commit, order_group, user_group

from .models import Delivery, Message, Order, OrderEvent, Review
from .serializers import (
    OrderEventSerializer,
    OrderSerializer,
    ReviewSerializer,
    delivery_payload,
    message_payload,
)

PREVIEW_LENGTH = 80


def order_groups(order: Order) -> list[str]:
    return [order_group(order.pk), user_group(order.buyer_id), user_group(order.creator_id)]


def order_data(order: Order) -> dict[str, Any]:
    return dict(OrderSerializer(order, context={"omit_allowed_moves": True}).data)


def event_data(event: OrderEvent) -> dict[str, Any]:
    return dict(OrderEventSerializer(event).data)


def order_placed(*, order: Order, event: OrderEvent) -> None:
    broadcast_on_commit(
        groups=order_groups(order),
        event=events.ORDER_CREATED,
        data={
            "order_id": order.pk,
            "seq": event.seq,
            "order": order_data(order),
            "event": event_data(event),
        },
    )


def order_moved(*, order: Order, event: OrderEvent) -> None:
    broadcast_on_commit(
        groups=order_groups(order),
        event=events.ORDER_STATUS,
        data={
            "order_id": order.pk,
            "seq": event.seq,
            "order": order_data(order),
            "event": event_data(event),
        },
    )


def message_posted(*, order: Order, message: Message) -> None:
    data = message_payload(message)
    broadcast_on_commit(
        groups=[order_group(order.pk)],
        event=events.MESSAGE_NEW,
        data={"order_id": order.pk, "seq": message.seq, "message": data},
    )
    preview = message.content[:PREVIEW_LENGTH]
    broadcast_on_commit(
        groups=[user_group(order.buyer_id), user_group(order.creator_id)],
        event=events.MESSAGE_NEW,
        data={
            "order_id": order.pk,
            "seq": message.seq,
            "message": {**data, "content": preview, "preview": True},
        },
    )


def read_marked(*, order: Order, user_id: int, seq: int) -> None:
    broadcast_on_commit(
        groups=[order_group(order.pk), user_group(user_id)],
        event=events.READ,
        data={"order_id": order.pk, "user_id": user_id, "seq": seq},
    )


def review_left(*, order: Order, review: Review) -> None:
    broadcast_on_commit(
        groups=order_groups(order),
        event=events.REVIEW_NEW,
        data={"order_id": order.pk, "review": dict(ReviewSerializer(review).data)},
    )


def order_noticed(*, order: Order, event: OrderEvent, name: str) -> None:
    """A notice of the time-based rules (events.ORDER_LATE, events.ORDER_REMINDER)."""
    broadcast_on_commit(
        groups=order_groups(order),
        event=name,
        data={
            "order_id": order.pk,
            "seq": event.seq,
            "order": order_data(order),
            "event": event_data(event),
        },
    )


def delivery_submitted(*, order: Order, delivery: Delivery) -> None:
    broadcast_on_commit(
        groups=order_groups(order),
        event=events.DELIVERY_NEW,
        data={
            "order_id": order.pk,
            "seq": delivery.seq,
            "delivery": delivery_payload(delivery, revisions_allowed=order.revisions_allowed),
        },
    )
