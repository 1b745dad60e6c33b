"""A task that cannot reach the broker is not lost work: the request that sent it succeeds, later
sends skip the broker for a moment instead of each waiting on it, and the next sweep finds the
work again in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from echo_site import background
from echo_site.celery import app
from orders.models import Order, OrderStatus
from payments.models import Payout

pytestmark = pytest.mark.django_db


def test_an_unreachable_broker_loses_nothing(
    make_order, monkeypatch, django_capture_on_commit_callbacks
):
    attempts = []

    def broker_down(name, kwargs):
        attempts.append(name)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app, "send_task", broker_down)
    monkeypatch.setattr(background, "_skip_until", 0.0)
    order = make_order("DELIVERED")
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=4))

    background.enqueue("orders.sweep")  # beat's sweep, with the broker down: logged, no raise
    background.enqueue("orders.sweep")  # within the back-off: not even tried
    assert attempts == ["orders.sweep"]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.DELIVERED

    # The broker is back: the next sweep re-derives the work from the database.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        background.enqueue("orders.sweep")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED
    assert Payout.objects.filter(payment__order=order).count() == 1
