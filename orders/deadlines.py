"""What will happen to an order next, and when: the time-based rules' view of one order.

The same dates the rules (orders/timed.py) act on, computed from the order's own columns and the
settings, so what the order page shows ("Completes automatically on 5 Dec") is what the worker
does. While a dispute is open the rules wait, and nothing is announced.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, TypedDict

from django.conf import settings
from django.utils import timezone

from .models import Order, OrderStatus

DeadlineKind = Literal["accept_by", "due_by", "late_since", "auto_complete"]
DEADLINE_KINDS: tuple[DeadlineKind, ...] = ("accept_by", "due_by", "late_since", "auto_complete")


class Deadline(TypedDict):
    kind: DeadlineKind
    at: datetime


def accept_by(order: Order) -> datetime:
    return order.created_at + timedelta(days=settings.ACCEPT_WITHIN_DAYS)


def auto_complete_at(delivered_at: datetime) -> datetime:
    return delivered_at + timedelta(days=settings.AUTO_COMPLETE_DAYS)


def reminder_at(delivered_at: datetime) -> datetime:
    """One day before the auto-complete (at once if AUTO_COMPLETE_DAYS is 1 or less)."""
    return delivered_at + timedelta(days=max(settings.AUTO_COMPLETE_DAYS - 1, 0))


def due_from(order: Order, accepted_at: datetime) -> datetime:
    """The delivery due date: acceptance plus the order's frozen delivery_days."""
    return accepted_at + timedelta(days=order.delivery_days)


def order_deadline(order: Order, *, disputed: bool, now: datetime | None = None) -> Deadline | None:
    """The next timed thing for this order, or None (final, on hold for a dispute, or none)."""
    if disputed:
        return None
    if order.status == OrderStatus.PENDING and order.created_at is not None:
        return {"kind": "accept_by", "at": accept_by(order)}
    if order.status == OrderStatus.IN_PROGRESS and order.due_at is not None:
        now = now or timezone.now()
        if order.late_at is not None or order.due_at <= now:
            return {"kind": "late_since", "at": order.due_at}
        return {"kind": "due_by", "at": order.due_at}
    if order.status == OrderStatus.DELIVERED and order.delivered_at is not None:
        return {"kind": "auto_complete", "at": auto_complete_at(order.delivered_at)}
    return None
