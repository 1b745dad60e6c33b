"""The time-based order rules: each one a service that fires at most once per order.

Every rule takes the order's row lock (the lock order of orders/services.py: the order first) and
checks its condition again under it, against the database's clock-independent facts (status, the
stamps, the open dispute) and `now`: of two workers or two sweeps racing for the same order, the
first does the work and the second finds nothing to do. A rule that finds nothing returns False.
What they do is recorded with the system as its actor (actor NULL, actor_kind "system").

- late: IN_PROGRESS past its due date -> a "late" notice on the timeline, once (late_at);
- reminder: DELIVERED for AUTO_COMPLETE_DAYS - 1 days -> a "reminder" notice, once per delivery;
- auto-complete: DELIVERED for AUTO_COMPLETE_DAYS -> COMPLETED (the payout follows as for a
  buyer's acceptance, through orders.hooks);
- auto-cancel: PENDING for ACCEPT_WITHIN_DAYS -> CANCELLED (a paid order is refunded in full).
None of them acts while a dispute is open on the order.

`due_orders()` is what the periodic sweep runs: which orders each rule is due for, from the
database alone, so a lost task message only delays a rule until the next sweep.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from echo_site import events
from echo_site.realtime import api_datetime

from . import hooks, live
from .deadlines import auto_complete_at, reminder_at
from .models import Order, OrderEvent, OrderEventKind, OrderStatus
from .services import _apply_move, _lock_order

RULES = ("late", "remind", "auto_complete", "auto_cancel")


# The system as an actor: an OrderEvent with no actor user (shown as actor_kind "system").
SYSTEM: Any = None


def _disputed(order_id: int) -> bool:
    return hooks.fact_read(hooks.OPEN_DISPUTE_ID, order_id) is not None


def _notice(*, order: Order, kind: str, note: str, name: str, stamp: dict[str, Any]) -> None:
    """Record a notice on a locked order's timeline (same status) and announce it."""
    seq = order.last_seq + 1
    now = timezone.now()
    Order.objects.filter(pk=order.pk).update(last_seq=seq, updated_at=now, **stamp)
    order.last_seq = seq
    order.updated_at = now
    for field, value in stamp.items():
        setattr(order, field, value)
    event = OrderEvent.objects.create(
        order=order,
        seq=seq,
        kind=kind,
        actor=SYSTEM,
        from_status=order.status,
        to_status=order.status,
        note=note,
    )
    live.order_noticed(order=order, event=event, name=name)


def _day(value: datetime) -> str:
    return f"{value:%d %b %Y %H:%M} UTC"


def order_mark_late(*, order_id: int) -> bool:
    """Mark an IN_PROGRESS order past its due date late, once."""
    now = timezone.now()
    with transaction.atomic():
        order = _lock_order(order_id)
        if (
            order.status != OrderStatus.IN_PROGRESS
            or order.due_at is None
            or order.due_at > now
            or order.late_at is not None
        ):
            return False
        _notice(
            order=order,
            kind=OrderEventKind.LATE,
            note=f"Late: the delivery was due on {_day(order.due_at)}.",
            name=events.ORDER_LATE,
            stamp={"late_at": now},
        )
        # Who is not looking hears of it too (notify/ records it, through orders' hook).
        hooks.event_happened(
            order=order,
            kind=hooks.EVENT_LATE,
            actor_id=None,
            data={"due_at": api_datetime(order.due_at)},
        )
    return True


def order_remind_buyer(*, order_id: int) -> bool:
    """One day before the auto-complete, tell the buyer (a timeline notice), once per delivery."""
    now = timezone.now()
    with transaction.atomic():
        order = _lock_order(order_id)
        if (
            order.status != OrderStatus.DELIVERED
            or order.delivered_at is None
            or order.reminder_sent_at is not None
            or reminder_at(order.delivered_at) > now
            or auto_complete_at(order.delivered_at) <= now
            or _disputed(order.pk)
        ):
            return False
        when = _day(auto_complete_at(order.delivered_at))
        _notice(
            order=order,
            kind=OrderEventKind.REMINDER,
            note=f"Completes automatically on {when} unless the buyer accepts or asks for a "
            "revision.",
            name=events.ORDER_REMINDER,
            stamp={"reminder_sent_at": now},
        )
        hooks.event_happened(
            order=order,
            kind=hooks.EVENT_AUTO_COMPLETE_SOON,
            actor_id=None,
            data={"auto_complete_at": api_datetime(auto_complete_at(order.delivered_at))},
        )
    return True


def order_auto_complete(*, order_id: int) -> bool:
    """DELIVERED with no answer for AUTO_COMPLETE_DAYS: COMPLETED by the system, once."""
    now = timezone.now()
    with transaction.atomic():
        order = _lock_order(order_id)
        if (
            order.status != OrderStatus.DELIVERED
            or order.delivered_at is None
            or auto_complete_at(order.delivered_at) > now
            or _disputed(order.pk)
        ):
            return False
        _apply_move(
            order=order,
            actor=SYSTEM,
            to_status=OrderStatus.COMPLETED,
            note=f"Completed automatically: no answer from the buyer in "
            f"{settings.AUTO_COMPLETE_DAYS} days.",
        )
    return True


def order_auto_cancel(*, order_id: int) -> bool:
    """PENDING and not accepted for ACCEPT_WITHIN_DAYS: CANCELLED by the system, once; a paid
    order is refunded in full by the payments app's reaction to the move."""
    now = timezone.now()
    with transaction.atomic():
        order = _lock_order(order_id)
        if (
            order.status != OrderStatus.PENDING
            or order.created_at + timedelta(days=settings.ACCEPT_WITHIN_DAYS) > now
            or _disputed(order.pk)
        ):
            return False
        _apply_move(
            order=order,
            actor=SYSTEM,
            to_status=OrderStatus.CANCELLED,
            note=f"Cancelled automatically: not accepted within {settings.ACCEPT_WITHIN_DAYS} "
            "days.",
        )
    return True


RULE_SERVICES = {
    "late": order_mark_late,
    "remind": order_remind_buyer,
    "auto_complete": order_auto_complete,
    "auto_cancel": order_auto_cancel,
}


def order_rule_apply(*, rule: str, order_id: int) -> bool:
    """Apply one rule to one order (what a task runs); an unknown order is nothing to do."""
    try:
        return RULE_SERVICES[rule](order_id=order_id)
    except Order.DoesNotExist:
        return False


def due_orders(*, now: datetime | None = None, limit: int = 500) -> dict[str, list[int]]:
    """{rule: order ids it is due for}, read from the database (the sweep). Orders with an open
    dispute are included and skipped by the rule itself, under the lock."""
    now = now or timezone.now()
    complete_before = now - timedelta(days=settings.AUTO_COMPLETE_DAYS)
    remind_before = now - timedelta(days=max(settings.AUTO_COMPLETE_DAYS - 1, 0))
    ids = Order.objects.values_list("pk", flat=True).order_by("pk")
    return {
        "late": list(
            ids.filter(status=OrderStatus.IN_PROGRESS, due_at__lte=now, late_at__isnull=True)[
                :limit
            ]
        ),
        "remind": list(
            ids.filter(
                status=OrderStatus.DELIVERED,
                reminder_sent_at__isnull=True,
                delivered_at__lte=remind_before,
                delivered_at__gt=complete_before,
            )[:limit]
        ),
        "auto_complete": list(
            ids.filter(status=OrderStatus.DELIVERED, delivered_at__lte=complete_before)[:limit]
        ),
        "auto_cancel": list(
            ids.filter(
                status=OrderStatus.PENDING,
                created_at__lte=now - timedelta(days=settings.ACCEPT_WITHIN_DAYS),
            )[:limit]
        ),
    }
