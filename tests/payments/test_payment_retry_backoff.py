"""Payouts run in a worker after commit, and a failed one is retried with exponential backoff
until it succeeds or PAYMENTS_RETRY_MAX_ATTEMPTS is reached; then it is marked for an admin with
the reason, and `manage.py payments_retry` stays the manual lever."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from echo_site.background import enqueue
from echo_site.celery import app
from orders import services
from payments.models import Payout

pytestmark = pytest.mark.django_db


def complete(order, buyer, creator, capture):
    services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
    services.order_move(order=order, actor=creator, to_status="DELIVERED")
    with capture(execute=True):
        services.order_move(order=order, actor=buyer, to_status="COMPLETED")


def test_the_transfer_is_a_task_sent_after_commit_not_a_call_in_the_request(
    order, buyer, creator, stripe_double, stripe_paid, connected_creator,
    django_capture_on_commit_callbacks, monkeypatch, settings,
):  # fmt: skip
    stripe_paid(order)
    sent = []
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app, "send_task", lambda name, kwargs: sent.append((name, kwargs)))

    services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
    services.order_move(order=order, actor=creator, to_status="DELIVERED")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.order_move(order=order, actor=buyer, to_status="COMPLETED")
    assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()

    payout = Payout.objects.get()
    assert ("payments.payout_execute", {"payout_id": payout.pk}) in sent
    assert stripe_double.posts("/v1/transfers") == []  # Stripe is the worker's business
    assert payout.status == "PENDING"


def test_a_failing_transfer_backs_off_then_is_marked_for_an_admin_with_the_reason(
    order, buyer, creator, stripe_double, stripe_paid, connected_creator,
    django_capture_on_commit_callbacks, settings,
):  # fmt: skip
    settings.PAYMENTS_RETRY_BASE_SECONDS = 60
    settings.PAYMENTS_RETRY_MAX_ATTEMPTS = 3
    stripe_paid(order)
    stripe_double.fail("POST", "/v1/transfers", status=500, times=3)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        complete(order, buyer, creator, django_capture_on_commit_callbacks)
        payout = Payout.objects.get()
        assert (payout.status, payout.attempts) == ("FAILED", 1)
        assert payout.next_attempt_at == start + timedelta(seconds=60)
        enqueue("payments.retry_due")  # not due yet
    assert len(stripe_double.posts("/v1/transfers")) == 1

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        enqueue("payments.retry_due")
    payout.refresh_from_db()
    assert (payout.status, payout.attempts) == ("FAILED", 2)
    assert payout.next_attempt_at == start + timedelta(seconds=61 + 120)  # doubled

    with time_machine.travel(start + timedelta(seconds=61 + 121), tick=False):
        enqueue("payments.retry_due")
    payout.refresh_from_db()
    assert (payout.status, payout.attempts, payout.needs_admin) == ("FAILED", 3, True)
    assert payout.next_attempt_at is None
    assert "Simulated Stripe outage" in payout.last_error  # the reason, for the admin

    with time_machine.travel(start + timedelta(days=2), tick=False):
        enqueue("payments.retry_due")  # given up: the worker leaves it to an admin
        assert len(stripe_double.posts("/v1/transfers")) == 3

        call_command("payments_retry", "--min-age", "0")  # the admin's lever
    payout.refresh_from_db()
    assert (payout.status, payout.needs_admin) == ("PAID", False)
    keys = {r.idempotency_key for r in stripe_double.posts("/v1/transfers")}
    assert keys == {f"payout-order-{order.pk}"}


def test_a_marked_payout_shows_in_the_django_admin_and_on_the_desk_with_its_reason(
    order, buyer, creator, stripe_double, stripe_paid, connected_creator,
    django_capture_on_commit_callbacks, settings, admin_user, client,
):  # fmt: skip
    settings.PAYMENTS_RETRY_MAX_ATTEMPTS = 1
    stripe_paid(order)
    stripe_double.fail("POST", "/v1/transfers", status=500)
    complete(order, buyer, creator, django_capture_on_commit_callbacks)
    assert Payout.objects.get().needs_admin
    client.force_login(admin_user)
    page = client.get("/admin/payments/payout/?needs_admin__exact=1")
    assert page.status_code == 200
    assert b"Simulated Stripe outage" in page.content
    # And on the mediation desk, with the order and the reason.
    desk = client.get("/desk/")
    assert desk.status_code == 200
    assert b"Money the worker gave up on" in desk.content
    assert f"Payout #{Payout.objects.get().pk}".encode() in desk.content
    assert b"Simulated Stripe outage" in desk.content
