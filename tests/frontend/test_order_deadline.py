"""The order page says what will happen and when, in one line, and follows the rules live: the
late notice turns "Delivery due by ..." into "Late since ..." on both parties' pages."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from orders import timed
from orders.models import Order

from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_deadline_line_follows_the_rules_live(browsing, make_order, password):
    pending = make_order("PENDING")
    order = make_order("IN_PROGRESS")
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)

    buyer_page.goto(f"/orders/{pending.pk}/")
    expect(buyer_page.locator("#deadline")).to_contain_text("Creator must accept by")
    creator_page.goto(f"/orders/{pending.pk}/")
    expect(creator_page.locator("#deadline")).to_contain_text("or the order is cancelled")

    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)
        expect(page.locator("#deadline")).to_contain_text("Delivery due by")

    # The rule, as the worker runs it (a thread of its own: Playwright's loop owns this one).
    marked = []

    def run_rule() -> None:
        Order.objects.filter(pk=order.pk).update(due_at=timezone.now() - timedelta(days=1))
        marked.append(timed.order_mark_late(order_id=order.pk))
        connection.close()

    worker = threading.Thread(target=run_rule)
    worker.start()
    worker.join(timeout=30)
    assert marked == [True]

    for page in (buyer_page, creator_page):
        expect(page.locator("#deadline")).to_contain_text("Late since")
        expect(page.locator("#timeline")).to_contain_text("Marked late by system")
    screenshot(buyer_page, "order-late-buyer")
