"""A creator delivers two files from the browser (per-file progress); the buyer sees the
delivery card live in another browser context, downloads the same bytes and accepts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders import deliveries
from orders.models import Order
from tests.orders.files import pdf_bytes, png_bytes

from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def started_order(make_order):
    return make_order("IN_PROGRESS")


def test_creator_delivers_two_files_and_the_buyer_downloads_them_live(
    browsing, buyer, creator, password, started_order
):
    order = started_order
    pdf = pdf_bytes("the final artwork") + b"%" * 50_000
    png = png_bytes((640, 480), "blue")
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)
    expect(buyer_page.locator("#due")).to_contain_text("Due")
    expect(buyer_page.locator("#deliveries")).to_contain_text("Nothing delivered yet.")

    creator_page.get_by_label("Message with your delivery").fill("Final files, as agreed.")
    creator_page.locator("#deliver-form input[type=file]").set_input_files(
        [
            {"name": "artwork.pdf", "mimeType": "application/pdf", "buffer": pdf},
            {"name": "logo.png", "mimeType": "image/png", "buffer": png},
        ]
    )
    uploads = creator_page.locator("#deliver-form .upload")
    expect(uploads).to_have_count(2)
    expect(uploads.locator("progress")).to_have_count(2)
    expect(creator_page.locator("#deliver-form .upload.ready")).to_have_count(2)
    creator_page.get_by_role("button", name="Hand over the work").click()

    card = buyer_page.locator("#deliveries .delivery")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Final files, as agreed.")
    expect(card).to_contain_text("First delivery")
    expect(card.locator(".file")).to_have_count(2)
    expect(card.locator(".file", has_text="logo.png")).to_contain_text("image/png")
    expect(card.locator("img.preview")).to_have_count(1)
    expect(buyer_page.locator("#status")).to_have_text("Delivered")

    with buyer_page.expect_download() as info:
        card.get_by_role("link", name="artwork.pdf").click()
    download = info.value
    assert download.suggested_filename == "artwork.pdf"
    assert Path(download.path()).read_bytes() == pdf
    with buyer_page.expect_download() as info:
        card.get_by_role("link", name="logo.png").click()
    assert Path(info.value.path()).read_bytes() == png

    card.get_by_role("button", name="Accept delivery").click()
    buyer_page.get_by_role("button", name="Yes, accept the delivery").click()  # the confirmation
    expect(creator_page.locator("#status")).to_have_text("Completed")
    expect(creator_page.locator("#deliveries .delivery .decision")).to_have_text("Accepted")
    screenshot(buyer_page, "order-delivered-buyer")
    assert browsing.errors == []


@pytest.fixture
def late_delivered_order(make_order, creator):
    order = make_order("IN_PROGRESS")
    Order.objects.filter(pk=order.pk).update(
        revisions_included=1, due_at=timezone.now() - timedelta(days=1)
    )
    order.refresh_from_db()
    deliveries.delivery_submit(order=order, creator=creator, message="First cut.")
    return order


def test_the_buyer_asks_for_a_revision_and_the_rounds_are_counted(
    browsing, buyer, creator, password, late_delivered_order
):
    order = late_delivered_order
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)
    card = buyer_page.locator("#deliveries .delivery").first
    expect(card.locator(".tag.late")).to_have_count(1)  # delivered after the due date
    expect(card).to_contain_text("1 revision round(s) left.")
    # The card answers the delivery; the head's move buttons for it step aside (what stays is
    # "Report a problem", which is not a move).
    expect(buyer_page.locator("#actions button[data-move]")).to_have_count(0)
    expect(buyer_page.locator("#actions button")).to_have_text(["Report a problem"])

    card.get_by_label("What should change?").fill("Bigger letters.")
    card.get_by_role("button", name="Ask for revision").click()
    expect(creator_page.locator("#status")).to_have_text("In progress")
    expect(creator_page.locator("#deliveries .delivery .decision")).to_have_text(
        "Revision asked: Bigger letters."
    )

    creator_page.get_by_label("Message with your delivery").fill("Bigger now.")
    creator_page.get_by_role("button", name="Hand over the work").click()
    latest = buyer_page.locator("#deliveries .delivery").first
    expect(latest).to_contain_text("Revision 1 of 1")
    expect(latest).to_contain_text("0 revision round(s) left.")
    expect(latest.get_by_role("button", name="Ask for revision")).to_be_disabled()

    creator_page.get_by_role("button", name="Grant extra revisions").click()
    expect(buyer_page.locator("#timeline")).to_contain_text("Revision rounds granted")
    expect(buyer_page.locator("#deliveries .delivery").first).to_contain_text(
        "1 revision round(s) left."
    )
    assert browsing.errors == []
