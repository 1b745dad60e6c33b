"""Outbox rows from order, payment and dispute events (orders.hooks.after_event), messages in
dispute threads included (EVENT_DISPUTE_MESSAGE, told by disputes through the same hook).

Runs inside the action's transaction, in its own savepoint: a failure here is logged and never
rolls back or blocks the action that caused it. Recording is idempotent (unique user + key).
"""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from orders import hooks
from orders.models import Order, OrderStatus

from .models import Notification, NotificationKind, NotificationPreference, OrderMute

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 200
EXCERPT_LINES = 3

# Moves worth telling the other party about (accept, deliver, revision, complete, cancel).
_TOLD_MOVES = {
    OrderStatus.IN_PROGRESS,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
    OrderStatus.CANCELLED,
}

_DISPUTE_KINDS = {
    hooks.EVENT_DISPUTE_OPENED: NotificationKind.DISPUTE_OPENED,
    hooks.EVENT_DISPUTE_REVIEW: NotificationKind.DISPUTE_REVIEW,
    hooks.EVENT_DISPUTE_CLOSED: NotificationKind.DISPUTE_CLOSED,
}


def excerpt(content: str) -> str:
    """The first lines of a message, short enough for a digest line or a push body."""
    lines = [line.strip() for line in content.strip().splitlines() if line.strip()]
    text = "\n".join(lines[:EXCERPT_LINES])
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1].rstrip() + "…"
    elif len(lines) > EXCERPT_LINES:
        text += "\n…"
    return text


def _others(order: Order, actor_id: int | None) -> list[int]:
    return [uid for uid in (order.buyer_id, order.creator_id) if uid != actor_id]


def _desk_admins() -> list[int]:
    return list(
        NotificationPreference.objects.filter(
            desk_email=True, user__is_staff=True, user__is_active=True
        ).values_list("user_id", flat=True)
    )


@dataclass(frozen=True)
class _Planned:
    kind: str
    recipients: list[int]
    key: str
    seq: int | None
    payload: dict[str, Any]
    dispute_id: int | None = None


def _plan(
    *, order: Order, kind: str, actor_id: int | None, data: dict[str, Any]
) -> _Planned | None:
    """What to record for an event, or None if nobody is told."""
    planned = _plan_tuple(order=order, kind=kind, actor_id=actor_id, data=data)
    if planned is not None:
        return _Planned(*planned)
    if kind == hooks.EVENT_DISPUTE_MESSAGE:
        # The thread's participants: both parties and the admins who joined the dispute. Read
        # marks, presence and the link are the dispute's; a mute of the order mutes it too.
        admins = [int(uid) for uid in data.get("admin_ids", [])]
        return _Planned(
            kind=NotificationKind.DISPUTE_MESSAGE,
            recipients=[*_others(order, data["sender_id"]), *admins],
            key=f"dmsg:{data['message_id']}",
            seq=int(data["seq"]),
            payload={
                "sender": data["sender_name"],
                "excerpt": excerpt(data["content"]),
                "dispute_id": data["dispute_id"],
            },
            dispute_id=int(data["dispute_id"]),
        )
    return None


def _plan_tuple(
    *, order: Order, kind: str, actor_id: int | None, data: dict[str, Any]
) -> tuple[str, list[int], str, int | None, dict[str, Any]] | None:
    """(notification kind, recipients, key, seq, payload) for the order's own events."""
    o = order.pk
    if kind == hooks.EVENT_PLACED:
        return NotificationKind.ORDER_PLACED, [order.creator_id], f"placed:{o}", 1, {}
    if kind == hooks.EVENT_PAID:
        return NotificationKind.PAYMENT_RECEIVED, [order.creator_id], f"paid:{o}", None, {}
    if kind == hooks.EVENT_MOVED:
        to_status = data["to_status"]
        if to_status not in _TOLD_MOVES:
            return None
        payload = {"from_status": data["from_status"], "to_status": to_status}
        seq = int(data["seq"])
        return (
            NotificationKind.ORDER_MOVED,
            _others(order, actor_id),
            f"move:{o}:{seq}",
            seq,
            payload,
        )
    if kind == hooks.EVENT_MESSAGE:
        payload = {"sender": data["sender_name"], "excerpt": excerpt(data["content"])}
        recipients = _others(order, data["sender_id"])
        return (
            NotificationKind.MESSAGE,
            recipients,
            f"msg:{data['message_id']}",
            data["seq"],
            payload,
        )
    if kind == hooks.EVENT_LATE:  # the creator is late: the buyer hears of it
        due = str(data["due_at"])
        return (
            NotificationKind.ORDER_LATE,
            [order.buyer_id],
            f"late:{o}:{due}",
            None,
            {"due_at": due},
        )
    if kind == hooks.EVENT_AUTO_COMPLETE_SOON:  # the buyer should look before it completes
        at = str(data["auto_complete_at"])
        key = f"autocomplete:{o}:{at}"
        payload = {"auto_complete_at": at}
        return NotificationKind.AUTO_COMPLETE_SOON, [order.buyer_id], key, None, payload
    if kind in _DISPUTE_KINDS:
        nkind = _DISPUTE_KINDS[kind]
        payload = {"dispute_id": data["dispute_id"], "outcome": data.get("outcome", "")}
        recipients = _others(order, actor_id)
        if kind == hooks.EVENT_DISPUTE_OPENED:
            recipients += [uid for uid in _desk_admins() if uid not in recipients]
        return nkind, recipients, f"{nkind}:{data['dispute_id']}", None, payload
    return None


def notify_record(*, order: Order, kind: str, actor_id: int | None, data: dict[str, Any]) -> None:
    """Record outbox rows for an event (the orders.hooks after_event reaction). Never raises.

    Inside a transaction it runs in a savepoint, so a failure leaves the caller's transaction
    intact; outside one (a message on PostgreSQL's one-statement path) each statement commits by
    itself and there is nothing to roll back.
    """
    if kind == hooks.EVENT_MESSAGE and data.get("in_statement"):
        return  # written with the message itself (notify/message_rows.py)
    try:
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            planned = _plan(order=order, kind=kind, actor_id=actor_id, data=data)
            if planned is None:
                return
            recipients = list(
                dict.fromkeys(
                    uid for uid in planned.recipients if uid is not None and uid != actor_id
                )
            )
            if recipients:
                _insert(
                    order_id=order.pk,
                    kind=planned.kind,
                    recipients=recipients,
                    key=planned.key,
                    seq=planned.seq,
                    payload=planned.payload,
                    dispute_id=planned.dispute_id,
                )
    except DatabaseError:
        logger.exception("notify: recording %s on order #%s failed", kind, order.pk)


_INSERT_SQL = f"""
INSERT INTO {Notification._meta.db_table}
    (user_id, kind, order_id, dispute_id, seq, payload, "key", created_at)
SELECT r.uid, %(kind)s, %(order)s::bigint, %(dispute)s::bigint, %(seq)s::bigint,
    %(payload)s::jsonb, %(key)s, %(at)s::timestamptz
FROM unnest(%(users)s::bigint[]) AS r(uid)
WHERE NOT EXISTS (
    SELECT 1 FROM {OrderMute._meta.db_table} m WHERE m.user_id = r.uid AND m.order_id = %(order)s
)
ON CONFLICT (user_id, "key") DO NOTHING
"""  # noqa: S608 - our own table names; every value is a parameter


def _insert(
    *,
    order_id: int,
    kind: str,
    recipients: list[int],
    key: str,
    seq: int | None,
    payload: dict[str, Any],
    dispute_id: int | None = None,
) -> None:
    """The rows for every recipient who has not muted the order; a repeated key adds nothing."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        # One statement, one round trip: this runs on every message posted (the hot path).
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_SQL,
                {
                    "kind": kind,
                    "order": order_id,
                    "dispute": dispute_id,
                    "seq": seq,
                    "payload": json.dumps(payload),
                    "key": key,
                    "at": now,
                    "users": recipients,
                },
            )
        return
    muted = set(
        OrderMute.objects.filter(order_id=order_id, user_id__in=recipients).values_list(
            "user_id", flat=True
        )
    )
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=uid,
                kind=kind,
                order_id=order_id,
                dispute_id=dispute_id,
                seq=seq,
                payload=payload,
                key=key,
                created_at=now,
            )
            for uid in recipients
            if uid not in muted
        ],
        ignore_conflicts=True,
    )
