"""The live order room's reads: its opening state and its replay, as the payloads clients render.

Above orders' selectors, serializers and live (it builds their payloads), below the services; the
live layer (chat) calls these. Fast PostgreSQL paths sit beside the general ones they must equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from echo_site.errors import ErrorCode, ServiceError
from echo_site.prepared import fetch_prepared

from . import hooks
from .models import Attachment, Delivery, Message, Order, OrderEvent, ReadMark
from .selectors import is_admin, order_get_for_user, timeline_after, unread_count
from .serializers import MessagePayload, OrderSerializer, message_payload, order_payload
from .state import allowed_moves

# --- The live room's hello ---------------------------------------------------------------------


@dataclass(frozen=True)
class OrderRoomState:
    """What a socket needs to open an order's room: the order (ids and status, for the writes
    the socket makes), the snapshot every client renders (the REST order payload, with this
    user's allowed moves) and the user's unread count."""

    order: Order
    snapshot: dict[str, Any]
    unread: int


def order_room_state(*, order_id: int, user: Any) -> OrderRoomState:
    """The order room's opening state; 404 if unknown, 403 for anyone but its parties and admins.

    On PostgreSQL one prepared statement reads all of it: connecting is what a client does
    most often after sending, and the ORM's query compilation for the order, its payment and
    dispute state and the unread count was most of a connect's CPU (docs/benchmarks.md).
    tests/orders/test_order_room_state.py keeps it equal to the general path below.
    """
    if connection.vendor == "postgresql":
        row = _order_room_row(order_id=order_id, user_id=user.pk)
        if row is None:
            raise ServiceError(ErrorCode.NOT_FOUND, f"Order {order_id} does not exist.")
        order = Order(
            id=row[0],
            buyer_id=row[1],
            creator_id=row[2],
            item_id=row[3],
            item_title=row[4],
            item_description=row[14],
            item_type=row[15],
            listed_price=row[16],
            final_price=row[5],
            status=row[6],
            last_seq=row[7],
            created_at=row[8],
            updated_at=row[9],
            completed_at=row[10],
            delivery_days=row[17],
            revisions_included=row[18],
            revisions_granted=row[19],
            revisions_used=row[20],
            accepted_at=row[21],
            due_at=row[22],
            delivered_at=row[23],
            late_at=row[24],
        )
        if not (order.is_party(user.pk) or is_admin(user)):
            raise ServiceError(ErrorCode.NOT_A_PARTY, "You are not a party to this order.")
        return OrderRoomState(
            order=order,
            snapshot=_order_snapshot(order, paid=row[11], dispute=row[12], user=user),
            unread=int(row[13]) if order.is_party(user.pk) else 0,
        )
    order = order_get_for_user(order_id=order_id, user=user, with_state=True)
    snapshot = dict(OrderSerializer(order, context={"request": SimpleNamespace(user=user)}).data)
    for name in ("state_is_paid", "state_open_dispute_id"):  # a snapshot, not for later reads
        order.__dict__.pop(name, None)
    unread = unread_count(order=order, user_id=user.pk) if order.is_party(user.pk) else 0
    return OrderRoomState(order=order, snapshot=snapshot, unread=unread)


def _order_snapshot(order: Order, *, paid: bool, dispute: int | None, user: Any) -> dict[str, Any]:
    """What OrderSerializer renders for `user`, from the facts the room's one query read."""
    moves = allowed_moves(
        order=order,
        user_id=user.pk,
        is_admin=is_admin(user),
        paid=bool(paid),
        disputed=dispute is not None,
    )
    return order_payload(order, paid=paid, open_dispute_id=dispute, moves=moves)


def _order_room_row(*, order_id: int, user_id: int) -> tuple[Any, ...] | None:
    global _ORDER_ROOM_SQL
    if _ORDER_ROOM_SQL is None:
        _ORDER_ROOM_SQL = f"""
SELECT o.id, o.buyer_id, o.creator_id, o.item_id, o.item_title, o.final_price, o.status, o.last_seq,
    o.created_at, o.updated_at, o.completed_at,
    {hooks.fact_sql(hooks.IS_PAID)},
    {hooks.fact_sql(hooks.OPEN_DISPUTE_ID)},
    (SELECT count(*) FROM {Message._meta.db_table} m
     WHERE m.order_id = o.id AND m.sender_id <> %(user)s::bigint
       AND m.seq > COALESCE((SELECT r.last_read_seq FROM {ReadMark._meta.db_table} r
                             WHERE r.order_id = o.id AND r.user_id = %(user)s::bigint), 0)),
    o.item_description, o.item_type, o.listed_price,
    o.delivery_days, o.revisions_included, o.revisions_granted, o.revisions_used,
    o.accepted_at, o.due_at, o.delivered_at, o.late_at
FROM {Order._meta.db_table} o
WHERE o.id = %(order)s::bigint
"""  # noqa: S608 - our own table names and constants; every value is a parameter
    rows = fetch_prepared(_ORDER_ROOM_SQL, {"order": order_id, "user": user_id})
    return rows[0] if rows else None


_ORDER_ROOM_SQL: str | None = None


# --- The live room's replay --------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One timeline entry for a replay: a message's live payload, or an event's or a
    delivery's id."""

    seq: int
    message: dict[str, Any] | None = None
    event_id: int | None = None
    delivery_id: int | None = None


# The replay's SQL renders each MessagePayload key from one column expression, in the payload's
# order; `_message_columns()` checks the two against each other before the statement is built,
# so a field added to the payload and not here stops the replay instead of sending less.
_MESSAGE_COLUMNS = {
    "id": "m.id",
    "order_id": "m.order_id",
    "seq": "m.seq",
    "sender_id": "m.sender_id",
    "sender_username": "u.username",
    "content": "m.content",
    # DRF's ISO 8601 in UTC; the fraction is dropped below when it is zero, as DRF does.
    "sent_at": "to_char(m.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')",
    "client_id": "m.client_id",
    # The files in id order, as orders.serializers.attachment_payload renders each.
    "attachments": f"""COALESCE((SELECT json_agg(json_build_object('id', a.id,
        'name', a.original_name, 'size', a.size, 'content_type', a.content_type,
        'has_preview', a.preview_key <> '') ORDER BY a.id)
        FROM {Attachment._meta.db_table} a WHERE a.message_id = m.id), '[]'::json)""",  # noqa: S608
}


def _message_columns(columns: dict[str, str]) -> list[str]:
    payload_keys = list(MessagePayload.__annotations__)
    if list(columns) != payload_keys:
        raise ImproperlyConfigured(
            f"orders/rooms.py's replay SQL renders {list(columns)}, but a message payload is "
            f"{payload_keys} (orders/serializers.py MessagePayload)"
        )
    return list(columns.values())


def timeline_payloads_after(*, order_id: int, after: int, limit: int) -> list[TimelineEntry]:
    """The timeline after `after` for a live replay, oldest first, at most `limit` entries.

    On PostgreSQL one prepared statement returns the messages as their payloads (MessagePayload,
    the time formatted by PostgreSQL) and the events' ids: a resume storm replays thousands of
    messages, and building a Message and its sender's User per row, then the payload, was most
    of it (docs/benchmarks.md). tests/chat/test_replay_payloads.py compares it with the ORM path.
    """
    if connection.vendor != "postgresql":
        return _timeline_payloads_orm(order_id=order_id, after=after, limit=limit)
    global _TIMELINE_SQL
    if _TIMELINE_SQL is None:
        columns = _message_columns(_MESSAGE_COLUMNS)
        nulls = ", ".join(["NULL"] * (len(columns) - 2))
        _TIMELINE_SQL = f"""
SELECT m.seq, 0, {", ".join(columns)}
FROM {Message._meta.db_table} m JOIN {get_user_model()._meta.db_table} u ON u.id = m.sender_id
WHERE m.order_id = %(order)s::bigint AND m.seq > %(after)s::bigint
UNION ALL
SELECT e.seq, 1, e.id, e.order_id, {nulls}
FROM {OrderEvent._meta.db_table} e
WHERE e.order_id = %(order)s::bigint AND e.seq > %(after)s::bigint
UNION ALL
SELECT d.seq, 2, d.id, d.order_id, {nulls}
FROM {Delivery._meta.db_table} d
WHERE d.order_id = %(order)s::bigint AND d.seq > %(after)s::bigint
ORDER BY 1 LIMIT %(limit)s::bigint
"""  # noqa: S608 - our own table names and column expressions; every value is a parameter
    rows = fetch_prepared(_TIMELINE_SQL, {"order": order_id, "after": after, "limit": limit})
    keys = tuple(_MESSAGE_COLUMNS)
    entries = []
    for seq, kind, *values in rows:
        if kind == 1:
            entries.append(TimelineEntry(seq=seq, event_id=values[0]))
            continue
        if kind == 2:
            entries.append(TimelineEntry(seq=seq, delivery_id=values[0]))
            continue
        message = dict(zip(keys, values, strict=True))
        sent_at = message["sent_at"]
        message["sent_at"] = (sent_at[:-7] if sent_at.endswith(".000000") else sent_at) + "Z"
        entries.append(TimelineEntry(seq=seq, message=message))
    return entries


_TIMELINE_SQL: str | None = None


def _timeline_payloads_orm(*, order_id: int, after: int, limit: int) -> list[TimelineEntry]:
    entries = []
    for row in timeline_after(order_id=order_id, after=after, limit=limit):
        if isinstance(row, Message):
            entries.append(TimelineEntry(seq=row.seq, message=dict(message_payload(row))))
        elif isinstance(row, Delivery):
            entries.append(TimelineEntry(seq=row.seq, delivery_id=row.pk))
        else:
            entries.append(TimelineEntry(seq=row.seq, event_id=row.pk))
    return entries
