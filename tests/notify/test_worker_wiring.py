"""The worker sends what people missed on beat's schedule, and the time-based rules (late, the
auto-complete reminder) reach people who are not looking, as the status events do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from echo_site.background import enqueue
from notify.models import Notification
from orders import timed
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_sending_and_pruning_are_on_the_schedule(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["notify-send-due"]["task"] == "notify.send_due"
    assert schedule["notify-send-due"]["schedule"] == settings.NOTIFY_SEND_INTERVAL_SECONDS
    assert schedule["notify-prune"]["task"] == "notify.prune"


def test_a_late_order_reaches_the_buyer_by_email_from_the_worker(make_order, buyer):
    order = make_order("IN_PROGRESS")
    enqueue("notify.send_due")  # what the order's earlier moves recorded goes first
    mail.outbox.clear()
    Order.objects.filter(pk=order.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    assert timed.order_mark_late(order_id=order.pk)
    assert Notification.objects.filter(user=buyer, order=order, done_at__isnull=True).exists()

    enqueue("notify.send_due")  # as beat sends it (tasks run eagerly in the test settings)
    assert [m.to for m in mail.outbox] == [[f"{buyer.username} <{buyer.email}>"]]
    assert "late" in mail.outbox[0].body.lower()
    enqueue("notify.send_due")
    assert len(mail.outbox) == 1  # sent once


def test_the_auto_complete_reminder_reaches_the_buyer(make_order, buyer, settings):
    order = make_order("DELIVERED")
    enqueue("notify.send_due")
    mail.outbox.clear()
    delivered = timezone.now() - timedelta(days=settings.AUTO_COMPLETE_DAYS - 1, minutes=1)
    Order.objects.filter(pk=order.pk).update(delivered_at=delivered)
    assert timed.order_remind_buyer(order_id=order.pk)
    enqueue("notify.send_due")
    assert [m.to for m in mail.outbox] == [[f"{buyer.username} <{buyer.email}>"]]
    assert "completes by itself" in mail.outbox[0].body


def test_the_systems_auto_complete_reaches_both_parties(make_order, buyer, creator, settings):
    order = make_order("DELIVERED")
    enqueue("notify.send_due")
    mail.outbox.clear()
    delivered = timezone.now() - timedelta(days=settings.AUTO_COMPLETE_DAYS, minutes=1)
    Order.objects.filter(pk=order.pk).update(delivered_at=delivered)
    assert timed.order_auto_complete(order_id=order.pk)  # the system moves it: no actor
    enqueue("notify.send_due")
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        f"{user.username} <{user.email}>" for user in (buyer, creator)
    )
