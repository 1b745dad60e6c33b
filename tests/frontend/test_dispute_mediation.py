"""A dispute from the buyer's page to the admin's desk, mediated live, closed with an outcome."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def accepted_order(make_order):
    return make_order("IN_PROGRESS")


def test_admin_sees_the_dispute_arrive_joins_posts_and_closes_it_for_both_parties(
    browsing, buyer, creator, admin_user, password, accepted_order
):
    order = accepted_order
    admin = browsing.signed_in("admin", password)
    admin.goto("/desk/")
    wait_live(admin)
    expect(admin.locator("#queue-empty")).to_be_visible()

    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)

    expect(buyer_page.locator("#dispute-form")).to_have_count(0)  # behind a secondary action
    buyer_page.get_by_role("button", name="Report a problem").click()
    buyer_page.get_by_label("Something wrong? Describe the problem (10 to 500 characters)").fill(
        "The creator stopped answering for a week."
    )
    buyer_page.get_by_role("button", name="Open a dispute").click()
    expect(buyer_page.locator(".dispute-summary .status")).to_have_text("Open")
    # The creator's order page hears of it live, and so does the admin's desk.
    expect(creator_page.locator(".dispute-summary .status")).to_have_text("Open")
    row = admin.locator("#queue tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("The creator stopped answering for a week.")
    expect(row).to_contain_text("buyer")
    screenshot(admin, "mediation-desk")

    for page in (buyer_page, creator_page):
        page.get_by_role("link", name="Open the dispute room").click()
        wait_live(page)
        expect(page.locator("#reason")).to_have_text("The creator stopped answering for a week.")

    admin.get_by_role("link", name="Join dispute").click()
    wait_live(admin)
    for page in (buyer_page, creator_page):
        expect(page.locator("#messages li.system")).to_have_text(["An admin joined"])
        expect(page.locator("#dispute-status")).to_have_text("Under review")
        expect(page.locator("#online")).to_contain_text("admin")

    admin.get_by_label("Message", exact=True).fill("I am looking into it. Creator, any update?")
    admin.get_by_role("button", name="Send").click()
    for page in (buyer_page, creator_page):
        message = page.locator("#messages li.msg.admin")
        expect(message.locator(".msg-text")).to_have_text(
            "I am looking into it. Creator, any update?"
        )
        expect(message.locator(".admin-tag")).to_have_text("Admin")
    creator_page.get_by_label("Message", exact=True).fill("Sorry, I was ill. Files soon.")
    creator_page.get_by_role("button", name="Send").click()
    expect(admin.locator("#messages li.msg", has_text="Sorry, I was ill.")).to_have_count(1)
    expect(buyer_page.locator("#messages li.msg", has_text="Sorry, I was ill.")).to_have_count(1)
    screenshot(buyer_page, "dispute-room-buyer")

    admin.get_by_label("Outcome").select_option("RESUME")
    admin.get_by_label("Resolution (shown to both parties)").fill(
        "The creator delivers within three days."
    )
    admin.get_by_role("button", name="Close dispute").click()
    admin.get_by_role("button", name="Yes, close the dispute").click()
    for page in (buyer_page, creator_page, admin):
        expect(page.locator("#dispute-status")).to_have_text("Closed")
        expect(page.locator("#outcome")).to_have_text("Order resumed")
        expect(page.locator("#dispute-closed")).to_contain_text(
            "The creator delivers within three days."
        )
        expect(page.locator("#compose")).to_be_hidden()
    screenshot(admin, "dispute-room-admin-closed")

    # The order page shows the outcome too, and the desk's queue is empty again.
    buyer_page.goto(f"/orders/{order.pk}/")
    expect(buyer_page.locator(".dispute-summary")).to_contain_text("Closed · Order resumed")
    # A closed dispute leaves no way to open another from the order page.
    expect(buyer_page.get_by_role("button", name="Report a problem")).to_have_count(0)
    expect(buyer_page.locator("#dispute-form")).to_have_count(0)
    admin.goto("/desk/")
    wait_live(admin)
    expect(admin.locator("#queue tbody tr")).to_have_count(0)
    assert browsing.errors == []
