"""Reads and access checks for orders, messages and reviews."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import (
    Avg,
    Count,
    OuterRef,
    PositiveBigIntegerField,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from echo_site.errors import ErrorCode, ServiceError

from . import hooks
from .models import Attachment, Delivery, Item, Message, Order, OrderEvent, ReadMark, Review
from .state import allowed_moves

UserLike = AbstractBaseUser | AnonymousUser


def is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_staff", False))


def item_list(*, item_type: str | None = None, creator_id: int | None = None) -> QuerySet[Item]:
    items = Item.objects.filter(is_archived=False).select_related("creator")
    if item_type:
        items = items.filter(item_type=item_type)
    if creator_id is not None:
        items = items.filter(creator_id=creator_id)
    return items


def item_get(*, item_id: int) -> Item:
    item = Item.objects.select_related("creator").filter(pk=item_id, is_archived=False).first()
    if item is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"Item {item_id} does not exist.")
    return item


def with_payment_and_dispute_state(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Orders that carry whether they are paid and their open dispute, read in the same query
    (the live room's hello: docs/benchmarks.md). `order_is_paid`, `order_open_dispute_id` and
    `order_allowed_moves` use these instead of a query each. The expressions come from the apps
    that own the facts (orders.hooks)."""
    return orders.annotate(**hooks.fact_annotations())


def order_open_dispute_id(*, order: Order) -> int | None:
    if hasattr(order, "state_open_dispute_id"):
        return order.state_open_dispute_id  # type: ignore[no-any-return]
    return hooks.fact_read(hooks.OPEN_DISPUTE_ID, order.pk)  # type: ignore[no-any-return]


def order_is_paid(*, order: Order) -> bool:
    """The buyer's money is with the platform (succeeded, or only partly refunded)."""
    if hasattr(order, "state_is_paid"):  # read with the order (with_payment_and_dispute_state)
        return bool(order.state_is_paid)
    return bool(hooks.fact_read(hooks.IS_PAID, order.pk))


def order_get_for_user(*, order_id: int, user: Any, with_state: bool = False) -> Order:
    """The order if `user` is one of its parties or an admin; 404 if unknown, 403 otherwise.
    `with_state`: read its payment and dispute state in the same query."""
    if with_state:  # the live room: ids are enough of the parties
        orders = with_payment_and_dispute_state(Order.objects.select_related("item"))
    else:
        orders = Order.objects.select_related("item", "buyer", "creator")
    order = orders.filter(pk=order_id).first()
    if order is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"Order {order_id} does not exist.")
    if not (order.is_party(user.pk) or is_admin(user)):
        raise ServiceError(ErrorCode.NOT_A_PARTY, "You are not a party to this order.")
    return order


def order_list_for_user(
    *, user: Any, status: str | None = None, role: str | None = None
) -> QuerySet[Order]:
    if role == "buyer":
        orders = Order.objects.filter(buyer=user)
    elif role == "creator":
        orders = Order.objects.filter(creator=user)
    else:
        orders = Order.objects.filter(Q(buyer=user) | Q(creator=user))
    if status:
        orders = orders.filter(status=status)
    # Paid and disputed read in the page's query: a constant number of queries per page.
    return with_payment_and_dispute_state(orders.select_related("item")).order_by(
        "-created_at", "-id"
    )


def order_allowed_moves(*, order: Order, user: Any) -> list[str]:
    """The moves `user` may make on `order` now: the state machine, less what payment and an open
    dispute forbid (the services would refuse those)."""
    return allowed_moves(
        order=order,
        user_id=user.pk,
        is_admin=is_admin(user),
        paid=order_is_paid(order=order),
        disputed=order_open_dispute_id(order=order) is not None,
    )


def order_last_seqs(order_ids: set[int]) -> dict[int, int]:
    """{order id: last timeline seq}, one query (the live heartbeat's tail check)."""
    return dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "last_seq"))


def read_marks_for_order(*, order: Order) -> dict[int, int]:
    """{user_id: last read seq} for the order's parties."""
    return dict(ReadMark.objects.filter(order=order).values_list("user_id", "last_read_seq"))


def message_page(
    *, order: Order, after: int = 0, before: int | None = None, limit: int = 50
) -> tuple[list[Message], bool]:
    """Messages oldest first: after `after`, or the last `limit` before `before`."""
    messages = (
        Message.objects.filter(order=order).select_related("sender").prefetch_related("attachments")
    )
    if before is not None:
        rows = list(messages.filter(seq__gt=after, seq__lt=before).order_by("-seq")[: limit + 1])
        has_more = len(rows) > limit
        return list(reversed(rows[:limit])), has_more
    rows = list(messages.filter(seq__gt=after).order_by("seq")[: limit + 1])
    return rows[:limit], len(rows) > limit


def event_page(*, order: Order, after: int = 0, limit: int = 200) -> tuple[list[OrderEvent], bool]:
    rows = list(
        OrderEvent.objects.filter(order=order, seq__gt=after)
        .select_related("actor")
        .order_by("seq")[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def timeline_after(
    *, order_id: int, after: int, limit: int = 500
) -> list[Message | OrderEvent | Delivery]:
    """Messages, moves and deliveries after `after`, merged in seq order (at most `limit`)."""
    messages = list(
        Message.objects.filter(order_id=order_id, seq__gt=after)
        .select_related("sender")
        .prefetch_related("attachments")
        .order_by("seq")[:limit]
    )
    events = list(
        OrderEvent.objects.filter(order_id=order_id, seq__gt=after)
        .select_related("actor")
        .order_by("seq")[:limit]
    )
    deliveries = list(
        Delivery.objects.filter(order_id=order_id, seq__gt=after)
        .only("id", "seq")
        .order_by("seq")[:limit]
    )
    merged: list[Message | OrderEvent | Delivery] = sorted(
        [*messages, *events, *deliveries], key=lambda row: row.seq
    )
    return merged[:limit]


def delivery_list(*, order: Order) -> list[Delivery]:
    """The order's deliveries, newest first, with their files (two queries)."""
    return list(
        Delivery.objects.filter(order_id=order.pk).prefetch_related("attachments").order_by("-seq")
    )


def attachment_get_for_user(*, attachment_id: int, user: Any) -> Attachment:
    """An attachment its viewer may download: a party of its order or an admin (for a dispute
    message's file the dispute's parties, who are the order's, and admins); an upload not sent
    yet only by its uploader. 404 when unknown, 403 otherwise."""
    attachment = Attachment.objects.select_related("order").filter(pk=attachment_id).first()
    if attachment is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"Attachment {attachment_id} does not exist.")
    order = attachment.order
    allowed = order.is_party(user.pk) or is_admin(user)
    if attachment.claimed_at is None and attachment.uploader_id != user.pk:
        allowed = False
    if not allowed:
        raise ServiceError(ErrorCode.NOT_A_PARTY, "You may not see this file.")
    return attachment


def unread_count(*, order: Order, user_id: int) -> int:
    """Messages from the other party that this user has not marked read (one query)."""
    last_read = ReadMark.objects.filter(order_id=order.pk, user_id=user_id).values("last_read_seq")[
        :1
    ]
    return (
        Message.objects.filter(
            order_id=order.pk,
            seq__gt=Coalesce(Subquery(last_read), Value(0), output_field=PositiveBigIntegerField()),
        )
        .exclude(sender_id=user_id)
        .count()
    )


def unread_counts_for_user(*, user_id: int, limit: int = 200) -> dict[int, int]:
    """{order id: messages from the other party this user has not marked read}, as
    `unread_count` counts them, for the user's `limit` most recently updated orders, leaving out
    those with none: one query however many orders (the notifications feed's hello)."""
    last_read = Subquery(
        ReadMark.objects.filter(order_id=OuterRef("pk"), user_id=user_id).values("last_read_seq")[
            :1
        ]
    )
    unread = Subquery(
        Message.objects.filter(order_id=OuterRef("pk"), seq__gt=OuterRef("last_read"))
        .exclude(sender_id=user_id)
        .order_by()
        .values("order_id")  # grouped by the one outer order: a COUNT per outer row
        .annotate(count=Count("pk"))
        .values("count")
    )
    rows = (
        Order.objects.filter(Q(buyer_id=user_id) | Q(creator_id=user_id))
        .annotate(
            last_read=Coalesce(last_read, Value(0), output_field=PositiveBigIntegerField()),
            unread=Coalesce(unread, Value(0), output_field=PositiveBigIntegerField()),
        )
        .order_by("-updated_at")
        .values_list("pk", "unread")[:limit]
    )
    return {order_id: count for order_id, count in rows if count}


def review_list_for_creator(*, creator_id: int) -> QuerySet[Review]:
    return (
        Review.objects.filter(creator_id=creator_id)
        .select_related("author")
        .order_by("-created_at", "-id")
    )


def review_average_for_creator(*, creator_id: int) -> dict[str, Any]:
    stats = Review.objects.filter(creator_id=creator_id).aggregate(
        average=Avg("score"), count=Count("id")
    )
    average = stats["average"]
    rounded = (
        None
        if average is None
        else float(Decimal(str(average)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    )
    return {"user_id": creator_id, "average": rounded, "count": stats["count"]}
