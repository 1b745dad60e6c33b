"""My orders, for a buyer and a creator side by side: the other party, dates, a "waiting on you"
marker that follows the order live, a filter for it, sorting, and no section for a role the user
never had."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .a11y import assert_accessible
from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def row(page, order):
    return page.locator(f'tr[data-order-id="{order.pk}"]')


def visible_ids(page, role: str) -> list[int]:
    return page.locator(f'table[data-role="{role}"] tbody tr:visible').evaluate_all(
        "rows => rows.map(r => Number(r.dataset.orderId))"
    )


def test_waiting_on_you_filter_sort_and_sections(browsing, buyer, creator, password, make_order):
    unpaid = make_order("PENDING")
    delivered = make_order("DELIVERED")
    working = make_order("IN_PROGRESS")
    done = make_order("COMPLETED")
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        wait_live(page)

    # A role the user never had gets no section at all.
    expect(buyer_page.locator("#section-creator")).to_be_hidden()
    expect(buyer_page.get_by_role("heading", name="As creator")).to_have_count(0)
    expect(creator_page.locator("#section-buyer")).to_be_hidden()

    expect(row(buyer_page, unpaid).locator(".other")).to_have_text("Creator creator")
    expect(row(creator_page, unpaid).locator(".other")).to_have_text("Buyer buyer")
    expect(row(buyer_page, unpaid).locator("time.placed")).not_to_be_empty()
    expect(row(buyer_page, unpaid).locator(".waiting-tag")).to_have_text("Waiting on you: Pay")
    expect(row(buyer_page, delivered).locator(".waiting-tag")).to_have_text(
        "Waiting on you: Check the delivery"
    )
    expect(row(buyer_page, working).locator(".waiting-tag")).to_be_hidden()
    expect(row(creator_page, working).locator(".waiting-tag")).to_have_text(
        "Waiting on you: Deliver"
    )
    expect(row(creator_page, done).locator(".waiting-tag")).to_be_hidden()
    expect(buyer_page.locator("#waiting-count")).to_have_text("2")
    expect(creator_page.locator("#waiting-count")).to_have_text("1")

    assert visible_ids(buyer_page, "buyer") == [done.pk, working.pk, delivered.pk, unpaid.pk]
    buyer_page.get_by_label("Sort", exact=True).select_option("oldest")
    assert visible_ids(buyer_page, "buyer") == [unpaid.pk, delivered.pk, working.pk, done.pk]
    buyer_page.get_by_label("Sort", exact=True).select_option("waiting")
    assert visible_ids(buyer_page, "buyer")[:2] == [delivered.pk, unpaid.pk]
    buyer_page.get_by_label("Only orders waiting on me").check()
    assert visible_ids(buyer_page, "buyer") == [delivered.pk, unpaid.pk]
    assert_accessible(buyer_page, "my orders, buyer, filtered")

    # The creator delivers: the buyer's list marks it as waiting on them, live.
    creator_page.goto(f"/orders/{working.pk}/")
    wait_live(creator_page)
    creator_page.get_by_role("button", name="Deliver").click()
    expect(row(buyer_page, working).locator(".waiting-tag")).to_have_text(
        "Waiting on you: Check the delivery"
    )
    expect(row(buyer_page, working)).to_be_visible()
    expect(buyer_page.locator("#waiting-count")).to_have_text("3")
    creator_page.goto("/orders/")
    wait_live(creator_page)
    expect(row(creator_page, working).locator(".waiting-tag")).to_be_hidden()
    expect(creator_page.locator("#waiting-count")).to_have_text("0")
    creator_page.get_by_label("Only orders waiting on me").check()
    expect(creator_page.locator('table[data-role="creator"] + .filtered-empty')).to_be_visible()
    assert_accessible(creator_page, "my orders, creator, nothing waiting")
    screenshot(buyer_page, "my-orders-waiting")
    assert browsing.errors == []


def test_a_new_user_sees_one_empty_state(browsing, outsider, password):
    page = browsing.signed_in("outsider", password)
    expect(page.locator("#no-orders")).to_be_visible()
    expect(page.locator("section[aria-labelledby]:visible")).to_have_count(0)
    expect(page.locator("#list-controls")).to_be_hidden()
    assert_accessible(page, "my orders, empty")
    assert browsing.errors == []
