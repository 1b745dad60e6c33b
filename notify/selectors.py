"""Reads for sending: who is connected where and since when (chat's presence), what a row says,
where it links."""

from __future__ import annotations

import hashlib
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings

from chat import presence
from echo_site import realtime
from orders.models import Order

from .models import MESSAGE_KINDS, Notification, NotificationKind

_MOVE_TEXT = {
    ("PENDING", "IN_PROGRESS"): "accepted the order",
    ("DELIVERED", "IN_PROGRESS"): "asked for a revision",
    ("IN_PROGRESS", "DELIVERED"): "delivered",
    ("", "COMPLETED"): "The order is completed",
    ("", "CANCELLED"): "The order was cancelled",
}
_DISPUTE_KINDS = {
    NotificationKind.DISPUTE_OPENED,
    NotificationKind.DISPUTE_REVIEW,
    NotificationKind.DISPUTE_CLOSED,
    NotificationKind.DISPUTE_MESSAGE,
}


class PresenceUnavailable(Exception):  # noqa: N818 - a reason, re-raised as NotifyTransientError
    pass


def row_room(row: Notification) -> str:
    """The live room where the row's event is seen: its dispute's (a dispute message), else
    its order's."""
    if row.dispute_id is not None:
        return realtime.dispute_group(row.dispute_id)
    return realtime.order_group(row.order_id)


def rooms_seen(*, user_id: int, rooms: set[str]) -> dict[str, presence.Seen]:
    """For each room: whether `user_id` has a live socket there now, else when they last had
    one (chat's presence: left, or last known alive), in one read."""
    try:
        return async_to_sync(presence.last_seen)(user_id=user_id, rooms=sorted(rooms))
    except Exception as exc:  # Redis down: we cannot tell, so we send nothing now
        raise PresenceUnavailable(str(exc)) from exc


def has_open_page(*, user_id: int) -> bool:
    """Whether the user holds any live socket at all (an open page of the site)."""
    room, _ = presence.socket_entry(user_id=user_id, channel="-")
    try:
        present = async_to_sync(presence.online)(room=room)
    except Exception as exc:
        raise PresenceUnavailable(str(exc)) from exc
    return any(p.user_id == user_id for p in present)


def may_see(*, user: Any, row: Notification) -> bool:
    """Nothing goes out about an order the user can no longer see."""
    if not user.is_active:
        return False
    order: Order = row.order
    if order.is_party(user.pk):
        return True
    return bool(user.is_staff) and row.kind in _DISPUTE_KINDS


def order_url(*, user: Any, row: Notification) -> str:
    """The page to open: a dispute message's dispute page; an order's page for its parties;
    the dispute page (or the desk) for an admin."""
    if row.dispute_id is not None:
        return f"{settings.SITE_URL}/disputes/{row.dispute_id}/"
    if row.order.is_party(user.pk):
        return f"{settings.SITE_URL}/orders/{row.order_id}/"
    dispute_id = row.payload.get("dispute_id")
    return (
        f"{settings.SITE_URL}/disputes/{dispute_id}/"
        if dispute_id
        else f"{settings.SITE_URL}/desk/"
    )


def describe(row: Notification) -> str:
    """One line about a status event (messages are listed with sender and first lines)."""
    p = row.payload
    if row.kind == NotificationKind.ORDER_PLACED:
        return "New order placed"
    if row.kind == NotificationKind.PAYMENT_RECEIVED:
        return "Payment received: you can start"
    if row.kind == NotificationKind.ORDER_MOVED:
        pair = (p.get("from_status", ""), p.get("to_status", ""))
        text = _MOVE_TEXT.get(pair) or _MOVE_TEXT.get(("", pair[1]))
        if pair in _MOVE_TEXT:
            return f"The other party {text}"
        return text or f"The order is now {pair[1]}"
    if row.kind == NotificationKind.ORDER_LATE:
        return "The delivery is late"
    if row.kind == NotificationKind.AUTO_COMPLETE_SOON:
        return f"The order completes by itself at {p.get('auto_complete_at', '')} unless you act"
    if row.kind == NotificationKind.DISPUTE_OPENED:
        return "A dispute was opened"
    if row.kind == NotificationKind.DISPUTE_REVIEW:
        return "An admin joined the dispute"
    if row.kind == NotificationKind.DISPUTE_CLOSED:
        outcome = str(p.get("outcome", "")).replace("_", " ").lower()
        return f"The dispute was closed: {outcome}" if outcome else "The dispute was closed"
    if row.kind in MESSAGE_KINDS:
        return f"{p.get('sender', 'Someone')}: {p.get('excerpt', '')}"
    return row.get_kind_display()


def address_ref(address: str) -> str:
    """A stable, non-reversible reference to an email address for logs."""
    return "addr-" + hashlib.sha256(address.strip().lower().encode()).hexdigest()[:12]
