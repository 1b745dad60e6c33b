"""The time-based order rules, with the clock moved by time-machine: each fires when due, once,
recorded as the system, and never while a dispute is open."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from disputes import services as dispute_services
from echo_site.background import enqueue
from orders import timed
from orders.models import Order, OrderEvent, OrderStatus
from payments.models import Payout, Refund

pytestmark = pytest.mark.django_db


def later(**delta: float) -> time_machine.travel:
    return time_machine.travel(timezone.now() + timedelta(**delta), tick=False)


def sweep() -> None:
    """What beat runs every SWEEP_INTERVAL_SECONDS (tasks run eagerly in the test settings)."""
    enqueue("orders.sweep")


def last_event(order: Order) -> OrderEvent:
    return OrderEvent.objects.filter(order=order).select_related("actor").order_by("-seq").first()


def test_acceptance_sets_the_due_date_from_the_orders_delivery_days(make_order):
    order = make_order("IN_PROGRESS")
    assert order.accepted_at is not None
    assert order.delivery_days == 7  # the listing's default, frozen on the order
    assert order.due_at == order.accepted_at + timedelta(days=order.delivery_days)


def test_a_late_order_is_marked_once_by_the_system(make_order, settings, api, buyer):
    order = make_order("IN_PROGRESS")
    with later(days=order.delivery_days - 1):
        sweep()
        order.refresh_from_db()
        assert order.late_at is None
    with later(days=order.delivery_days, minutes=1):
        sweep()
        sweep()  # a second sweep, and a direct second run, find nothing to do
        assert timed.order_mark_late(order_id=order.pk) is False
    order.refresh_from_db()
    assert order.late_at is not None
    notices = OrderEvent.objects.filter(order=order, kind="late")
    assert notices.count() == 1
    notice = notices.get()
    assert notice.actor_id is None
    assert (notice.from_status, notice.to_status) == ("IN_PROGRESS", "IN_PROGRESS")
    assert notice.seq == order.last_seq
    # Both parties see it: on the timeline as "system", and in the order's deadline.
    events = api(buyer).get(f"/api/orders/{order.pk}/events").json()
    late = [e for e in (events.get("results", events)) if e["kind"] == "late"]
    assert late and late[0]["actor_kind"] == "system" and late[0]["actor_username"] == "system"
    with later(days=3):
        body = api(buyer).get(f"/api/orders/{order.pk}").json()
    assert body["deadline"]["kind"] == "late_since"


def test_a_delivered_order_reminds_the_buyer_then_completes_by_itself_and_pays_out(
    make_order, settings, django_capture_on_commit_callbacks
):
    settings.AUTO_COMPLETE_DAYS = 3
    order = make_order("DELIVERED")
    with later(days=1):
        sweep()
    assert not OrderEvent.objects.filter(order=order, kind="reminder").exists()
    with later(days=2, minutes=1):
        sweep()
        sweep()
    reminders = OrderEvent.objects.filter(order=order, kind="reminder")
    assert reminders.count() == 1
    assert "Completes automatically" in reminders.get().note
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    with later(days=3, minutes=1), django_capture_on_commit_callbacks(execute=True):
        sweep()
        sweep()
        assert timed.order_auto_complete(order_id=order.pk) is False
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    completions = OrderEvent.objects.filter(order=order, to_status="COMPLETED")
    assert completions.count() == 1
    assert completions.get().actor_id is None
    # The payout follows as for a buyer's acceptance (waiting: the creator has no account).
    assert Payout.objects.filter(payment__order=order).count() == 1


def test_a_revision_restarts_the_clock_and_the_reminder(make_order, buyer, creator, settings):
    from orders import services

    settings.AUTO_COMPLETE_DAYS = 3
    order = make_order("DELIVERED")
    with later(days=2, minutes=1):
        sweep()
        services.order_move(order=order, actor=buyer, to_status="IN_PROGRESS")
        services.order_move(order=order, actor=creator, to_status="DELIVERED")
    with later(days=3, minutes=5):
        sweep()  # three days after the first delivery, one after the second: nothing
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    with later(days=4, minutes=5):
        sweep()
    assert OrderEvent.objects.filter(order=order, kind="reminder").count() == 2


def test_a_pending_order_not_accepted_in_time_is_cancelled_and_refunded_in_full(
    make_order, settings, django_capture_on_commit_callbacks
):
    from tests.conftest import pay

    settings.ACCEPT_WITHIN_DAYS = 3
    order = make_order("PENDING")
    payment = pay(order)
    with later(days=2, hours=23):
        sweep()
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    with later(days=3, minutes=1), django_capture_on_commit_callbacks(execute=True):
        sweep()
        sweep()
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    cancel = last_event(order)
    assert (cancel.to_status, cancel.actor_id) == ("CANCELLED", None)
    [refund] = Refund.objects.filter(payment=payment)
    assert refund.amount == payment.total_amount == Decimal("450.00")
    assert refund.status == "SUCCEEDED"


def test_no_rule_acts_while_a_dispute_is_open(make_order, buyer, settings):
    # (A PENDING order cannot be disputed: auto-cancel needs no such guard in practice, but it
    # has it, as every rule does.)
    settings.AUTO_COMPLETE_DAYS = 3
    status = "DELIVERED"
    order = make_order(status)
    dispute_services.dispute_open(order=order, opened_by=buyer, reason="Not what we agreed.")
    seq = Order.objects.get(pk=order.pk).last_seq
    with later(days=10):
        sweep()
    order.refresh_from_db()
    assert order.status == status
    assert order.last_seq == seq  # nothing recorded, no reminder either
    assert not OrderEvent.objects.filter(order=order, kind="reminder").exists()


def test_the_deadline_in_the_payload_says_what_will_happen_and_when(
    make_order, api, buyer, settings
):
    settings.ACCEPT_WITHIN_DAYS = 3
    settings.AUTO_COMPLETE_DAYS = 3
    pending = make_order("PENDING")
    body = api(buyer).get(f"/api/orders/{pending.pk}").json()
    assert body["deadline"]["kind"] == "accept_by"
    expected = pending.created_at + timedelta(days=3)
    assert body["deadline"]["at"].replace("Z", "+00:00") == expected.isoformat()
    delivered = make_order("DELIVERED")
    body = api(buyer).get(f"/api/orders/{delivered.pk}").json()
    assert body["deadline"]["kind"] == "auto_complete"
    assert body["delivered_at"] is not None
    completed = make_order("COMPLETED")
    assert api(buyer).get(f"/api/orders/{completed.pk}").json()["deadline"] is None
