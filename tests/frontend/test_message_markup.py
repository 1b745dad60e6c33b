"""A message with HTML in it shows as text on the other party's page and runs nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

MARKUP = '<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script>'


def test_a_message_containing_html_renders_as_text(browsing, buyer, creator, password, order):
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)

    buyer_page.get_by_label("Message", exact=True).fill(MARKUP)
    buyer_page.get_by_role("button", name="Send").click()

    for page in (creator_page, buyer_page):
        text = page.locator("#messages li.msg .msg-text")
        expect(text).to_have_text(MARKUP)
        assert text.locator("img, b, script").count() == 0
    creator_page.reload()  # the server-rendered history is escaped too
    expect(creator_page.locator("#messages li.msg .msg-text")).to_have_text(MARKUP)
    for page in (creator_page, buyer_page):
        assert page.evaluate("window.__pwned") is None
    assert browsing.errors == []
