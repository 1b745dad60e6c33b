"""The thread reads like a chat, for two parties side by side: day separators, one header per
run of one sender's messages, safe clickable links, right-to-left text laid out right-to-left, an
empty state, a line saying why a thread is closed, read marks that survive a reload in the
dispute room, and a live region that announces only other people's new messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .a11y import assert_accessible
from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ARABIC = "مرحبا، هل يمكنك رسم ثعلب أحمر؟"
LINKS = "Sketches at https://example.com/fox?v=1. Not this: javascript:alert(1) nor ftp://x.org/"


@pytest.fixture
def chatty_order(buyer, creator, order):
    from orders import services
    from orders.models import Message

    first, _ = services.message_post(order=order, sender=buyer, content="Hello!")
    second, _ = services.message_post(order=order, sender=buyer, content="Can you draw a fox?")
    Message.objects.filter(pk__in=[first.pk, second.pk]).update(
        sent_at=timezone.now() - timedelta(days=1)
    )
    services.message_post(order=order, sender=creator, content=LINKS)
    services.message_post(order=order, sender=creator, content=ARABIC)
    return order


def test_days_groups_links_and_right_to_left_text(browsing, buyer, creator, password, chatty_order):
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{chatty_order.pk}/")
        wait_live(page)

    messages = buyer_page.locator("#messages li.msg")
    expect(messages).to_have_count(4)
    expect(buyer_page.locator("#messages li.day")).to_have_text(["Yesterday", "Today"])
    expect(buyer_page.locator("#chat-empty")).to_be_hidden()
    # One header per run: the second message of each sender's run shows no name or time.
    classes = messages.evaluate_all("items => items.map(li => li.classList.contains('cont'))")
    assert classes == [False, True, False, True]
    assert messages.nth(1).locator(".msg-meta").bounding_box()["width"] <= 1
    assert messages.nth(0).locator(".msg-meta").bounding_box()["width"] > 1

    # Links: http(s) only, opened safely, built as DOM nodes (the text is never parsed as HTML).
    link_message = messages.nth(2).locator(".msg-text")
    links = link_message.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.com/fox?v=1")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(links).to_have_text("https://example.com/fox?v=1")
    expect(link_message).to_have_text(LINKS)

    # Right-to-left text gets dir="auto" and is laid out right-to-left.
    arabic = messages.nth(3).locator(".msg-text")
    expect(arabic).to_have_attribute("dir", "auto")
    assert arabic.evaluate("p => getComputedStyle(p).direction") == "rtl"
    assert messages.nth(0).locator(".msg-text").evaluate("p => getComputedStyle(p).direction") == (
        "ltr"
    )

    # The message list is no live region; only others' new messages are announced.
    log = buyer_page.locator("#messages")
    assert log.get_attribute("aria-live") is None and log.get_attribute("role") is None
    buyer_page.get_by_label("Message", exact=True).fill("Lovely, thanks")
    buyer_page.get_by_role("button", name="Send").click()
    expect(creator_page.locator("#chat-announce")).to_have_text("buyer: Lovely, thanks")
    mine = buyer_page.locator("#messages li.msg.mine", has_text="Lovely, thanks")
    expect(mine.locator(".mark")).to_have_text("Read")
    expect(buyer_page.locator("#chat-announce")).to_have_text("")
    screenshot(buyer_page, "chat-grouped-rtl-links")
    assert_accessible(buyer_page, "order chat with links and RTL text")
    assert browsing.errors == []


def test_empty_thread_and_the_closed_line(browsing, buyer, creator, password, make_order):
    fresh = make_order("PENDING")
    done = make_order("COMPLETED")
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{fresh.pk}/")
        wait_live(page)
        expect(page.locator("#chat-empty")).to_be_visible()
        expect(page.locator("#thread-closed")).to_be_hidden()
    buyer_page.get_by_label("Message", exact=True).fill("First!")
    buyer_page.get_by_role("button", name="Send").click()
    for page in (buyer_page, creator_page):
        expect(page.locator("#chat-empty")).to_be_hidden()

    buyer_page.goto(f"/orders/{done.pk}/")
    wait_live(buyer_page)
    expect(buyer_page.locator("#compose")).to_be_hidden()
    expect(buyer_page.locator("#thread-closed")).to_have_text(
        "The order is completed, so this thread is closed to new messages. "
        "Open a dispute if something is wrong."
    )
    assert browsing.errors == []


def test_read_marks_in_the_dispute_room_survive_a_reload(
    browsing, buyer, creator, password, make_order
):
    from disputes import services as dispute_services

    order = make_order("IN_PROGRESS")
    dispute = dispute_services.dispute_open(
        order=order, opened_by=buyer, reason="Nothing delivered for weeks."
    )
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/disputes/{dispute.pk}/")
        wait_live(page)
    buyer_page.get_by_label("Message", exact=True).fill("Where are the files?")
    buyer_page.get_by_role("button", name="Send").click()
    mine = buyer_page.locator("#messages li.msg.mine", has_text="Where are the files?")
    expect(mine.locator(".mark")).to_have_text("Read")  # the creator's open page read it

    buyer_page.reload()
    wait_live(buyer_page)
    mine = buyer_page.locator("#messages li.msg.mine", has_text="Where are the files?")
    expect(mine.locator(".mark")).to_have_text("Read")
    expect(mine.locator(".mark")).to_have_class("mark read")
    assert browsing.errors == []
