"""The main pages fit a 360 px phone screen (no sideways scrolling) and work by keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_pages_fit_360_px_and_the_chat_works_by_keyboard(browsing, buyer, creator, password, order):
    page = browsing.signed_in("buyer", password, **PHONE)
    screenshot(page, "phone-my-orders")
    assert fits(page)

    page.goto("/")
    expect(page.get_by_role("heading", name="Marketplace")).to_be_visible()
    assert fits(page)
    screenshot(page, "phone-marketplace")

    page.goto(f"/orders/{order.pk}/")
    wait_live(page)
    assert fits(page)
    compose = page.get_by_label("Message", exact=True)
    compose.focus()
    page.keyboard.type("sent from the keyboard")
    page.keyboard.press("Enter")
    expect(page.locator("#messages li.msg.mine .msg-text")).to_have_text("sent from the keyboard")
    assert fits(page)
    screenshot(page, "phone-order-workspace")

    # Every form control on the page has a label.
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.id || e.name)"""
    )
    assert unlabelled == []
    assert browsing.errors == []
