"""A file attached in the chat composer travels with the message (message.send attachment_ids):
the other party sees it live under the message and downloads the same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.orders.files import pdf_bytes

from .conftest import wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_file_sent_in_the_chat_reaches_the_other_party(browsing, buyer, creator, password, order):
    content = pdf_bytes("the brief") + b"%" * 10_000
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)

    buyer_page.locator("#compose input[type=file]").set_input_files(
        [{"name": "brief.pdf", "mimeType": "application/pdf", "buffer": content}]
    )
    expect(buyer_page.locator("#compose .upload.ready")).to_have_count(1)
    buyer_page.get_by_label("Message", exact=True).fill("The brief is attached.")
    buyer_page.get_by_role("button", name="Send", exact=True).click()

    arrived = creator_page.locator("#messages li.msg", has_text="The brief is attached.")
    expect(arrived.locator(".file")).to_have_count(1)
    expect(arrived.locator(".file")).to_contain_text("application/pdf")
    with creator_page.expect_download() as info:
        arrived.get_by_role("link", name="brief.pdf").click()
    assert Path(info.value.path()).read_bytes() == content
    expect(buyer_page.locator("#compose .upload")).to_have_count(0)  # the composer is clear again
    assert browsing.errors == []
