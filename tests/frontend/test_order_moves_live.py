"""Status moves reach the other party's page live; the buyer pays (simulated), accepts, reviews."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def buttons(page):
    return page.locator("#actions button")


def test_moves_payment_and_review_update_both_pages_live(browsing, buyer, creator, password, order):
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)

    # Unpaid: the creator cannot accept yet; the buyer sees the clearly labelled simulated gateway.
    expect(creator_page.get_by_role("button", name="Accept order")).to_have_count(0)
    expect(creator_page.locator("#next-step")).to_contain_text(
        "You can accept the order once they have paid."
    )
    expect(buyer_page.locator("#payment .notice")).to_contain_text("simulated payments")
    buyer_page.get_by_role("button", name="Simulated payment: pay €450.00").click()
    expect(buyer_page.get_by_test_id("paid")).to_contain_text("Paid: €450.00")
    expect(creator_page.get_by_test_id("paid")).to_contain_text("Paid: €450.00")
    expect(creator_page.locator("#next-step")).to_contain_text("Accept the order to start work")

    creator_page.get_by_text("Add a note to your action").click()
    creator_page.get_by_label("Note with your action (optional)").fill("Starting today")
    creator_page.get_by_role("button", name="Accept order").click()
    expect(buyer_page.locator("#status")).to_have_text("In progress")
    expect(buttons(buyer_page)).to_have_text(["Report a problem"])
    expect(buyer_page.locator("#timeline")).to_contain_text("Pending → In progress")
    expect(buyer_page.locator("#timeline")).to_contain_text("Starting today")

    creator_page.get_by_role("button", name="Deliver").click()
    expect(buyer_page.locator("#status")).to_have_text("Delivered")
    expect(buttons(buyer_page)).to_have_text(
        ["Accept delivery", "Ask for revision", "Report a problem"]
    )
    expect(buttons(creator_page)).to_have_text(["Report a problem"])

    buyer_page.get_by_role("button", name="Accept delivery").click()
    buyer_page.get_by_role("button", name="Yes, accept the delivery").click()
    expect(creator_page.locator("#status")).to_have_text("Completed")
    expect(buyer_page.locator("#status")).to_have_text("Completed")
    expect(buyer_page.locator("#compose")).to_be_hidden()  # a completed order takes no messages

    buyer_page.get_by_label("Score").select_option("5")
    buyer_page.get_by_label("Comment (optional)").fill("Lovely <b>work</b>")
    buyer_page.get_by_role("button", name="Submit review").click()
    expect(buyer_page.get_by_test_id("review-score")).to_contain_text("5/5")
    expect(creator_page.get_by_test_id("review-score")).to_contain_text("5/5")
    expect(creator_page.locator(".review-text")).to_have_text("Lovely <b>work</b>")

    screenshot(buyer_page, "order-completed-buyer")
    creator_page.goto("/orders/")
    expect(creator_page.locator(f'tr[data-order-id="{order.pk}"] .status')).to_have_text(
        "Completed"
    )
    screenshot(creator_page, "my-orders")
    assert browsing.errors == []
