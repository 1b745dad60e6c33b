"""Buyer and creator on one order in two browsers: messages, typing and read marks arrive live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_message_typing_and_read_marks_reach_the_other_party_without_reload(
    browsing, buyer, creator, password, order
):
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)
    expect(buyer_page.locator("#online")).to_contain_text("creator")
    expect(creator_page.locator("#online")).to_contain_text("buyer")

    buyer_page.get_by_label("Message", exact=True).press_sequentially("Hello, can you")
    expect(creator_page.locator("#typing")).to_have_text("buyer is typing…")

    buyer_page.get_by_label("Message", exact=True).fill("Hello, can you draw a fox?")
    buyer_page.get_by_role("button", name="Send").click()
    arrived = creator_page.locator("#messages li.msg", has_text="Hello, can you draw a fox?")
    expect(arrived).to_have_count(1)
    expect(arrived.locator(".sender")).to_have_text("buyer")
    expect(creator_page.locator("#typing")).to_have_text("")

    # The creator's page is open and visible, so it marks the message read; the buyer sees it.
    mine = buyer_page.locator("#messages li.msg.mine", has_text="Hello, can you draw a fox?")
    expect(mine.locator(".mark")).to_have_text("Read")

    creator_page.get_by_label("Message", exact=True).fill("Sure, a red one.")
    creator_page.get_by_label("Message", exact=True).press(
        "Enter"
    )  # Enter sends: usable by keyboard
    expect(buyer_page.locator("#messages li.msg", has_text="Sure, a red one.")).to_have_count(1)
    expect(
        creator_page.locator("#messages li.msg.mine", has_text="Sure, a red one.").locator(".mark")
    ).to_have_text("Read")

    screenshot(buyer_page, "order-workspace-buyer")
    screenshot(creator_page, "order-workspace-creator")
    assert browsing.errors == []
