"""A dispute left without an admin past DISPUTE_ADMIN_SLA_HOURS is flagged on the desk, live."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from disputes import services, timed

from .conftest import wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_desk_flags_a_dispute_waiting_too_long_live(
    browsing, make_order, buyer, admin_user, password, settings
):
    order = make_order("IN_PROGRESS")
    dispute = services.dispute_open(order=order, opened_by=buyer, reason="Nothing delivered yet.")
    admin = browsing.signed_in("admin", password)
    admin.goto("/desk/")
    wait_live(admin)
    row = admin.locator(f'tr[data-dispute-id="{dispute.pk}"]')
    expect(row).to_be_visible()
    expect(row.locator(".sla")).to_have_count(0)

    settings.DISPUTE_ADMIN_SLA_HOURS = 0  # due now, as the worker would find it
    flagged = []

    def run_rule() -> None:  # a thread of its own: Playwright's loop owns this one
        flagged.append(timed.dispute_flag_sla(dispute_id=dispute.pk))
        connection.close()

    worker = threading.Thread(target=run_rule)
    worker.start()
    worker.join(timeout=30)
    assert flagged == [True]
    expect(row.locator(".sla")).to_have_text("Waiting too long for an admin")
