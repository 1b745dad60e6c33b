"""Registering, listing, editing, filtering and ordering at an agreed price, in the browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_new_creator_lists_and_edits_and_a_buyer_filters_and_orders_at_an_agreed_price(
    browsing, buyer, password
):
    maker = browsing.page()
    maker.goto("/signin/")
    screenshot(maker, "sign-in")
    maker.goto("/register/")
    screenshot(maker, "register")
    maker.get_by_label("Username").fill("maria")
    maker.get_by_label("Email").fill("maria@example.com")
    maker.get_by_label("Password").fill("correct-horse-42")
    maker.get_by_role("button", name="Register").click()
    expect(maker.get_by_test_id("me")).to_have_text("maria")

    maker.get_by_text("Create a listing").click()
    new = maker.locator("details.new-item")
    new.get_by_label("Title").fill("Album cover artwork")
    new.get_by_label("Description").fill("One square cover, print-ready.")
    new.get_by_label("Price (EUR)").fill("300.00")
    new.get_by_label("Type").select_option("SERVICE")
    new.get_by_role("button", name="Publish listing").click()
    card = maker.locator("li.item", has_text="Album cover artwork")
    expect(card).to_have_count(1)
    card.get_by_text("Edit listing").click()
    card.get_by_label("Price (EUR)").fill("320.00")
    card.get_by_role("button", name="Save changes").click()
    expect(maker.locator("li.item", has_text="Album cover artwork").locator(".price")).to_have_text(
        "€320.00"
    )

    shopper = browsing.signed_in("buyer", password)
    shopper.goto("/")
    shopper.get_by_label("Filter by type").select_option("PRODUCT")
    shopper.get_by_role("button", name="Filter").click()
    expect(shopper.locator("li.item")).to_have_count(0)
    shopper.get_by_label("Filter by type").select_option("SERVICE")
    shopper.get_by_label("Filter by creator").select_option(label="maria")
    shopper.get_by_role("button", name="Filter").click()
    expect(shopper.locator("li.item")).to_have_count(1)
    screenshot(shopper, "marketplace")

    shopper.get_by_label(re.compile(r"Price \(listed €320\.00")).fill("280.00")
    shopper.get_by_role("button", name="Order").click()
    shopper.wait_for_url(re.compile(r"/orders/\d+/$"))
    wait_live(shopper)
    expect(shopper.locator("#price")).to_have_text("€280.00")
    expect(shopper.locator("#status")).to_have_text("Pending")

    # The creator's "My orders" hears of the new order live... and of the buyer's message.
    maker.goto("/orders/")
    wait_live(maker)
    shopper.goto("/")
    shopper.get_by_label(re.compile(r"Price \(listed €320\.00")).fill("300.00")
    shopper.get_by_role("button", name="Order").click()
    shopper.wait_for_url(re.compile(r"/orders/\d+/$"))
    order_id = shopper.url.rstrip("/").rsplit("/", 1)[-1]
    row = maker.locator(f'tr[data-order-id="{order_id}"]')
    expect(row.locator(".status")).to_have_text("Pending")
    wait_live(shopper)
    shopper.get_by_label("Message", exact=True).fill("Hi Maria!")
    shopper.get_by_role("button", name="Send").click()
    expect(row.locator(".unread")).to_have_text("1")
    assert browsing.errors == []
