"""A page that was offline shows what it missed exactly once, in order, and sends what was typed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def texts(page) -> list[str]:
    return page.locator("#messages li.msg .msg-text").all_text_contents()


def test_missed_messages_appear_once_in_order_and_queued_ones_are_sent_on_reconnect(
    browsing, buyer, creator, password, order
):
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)
    buyer_page.get_by_label("Message", exact=True).fill("before the tunnel")
    buyer_page.get_by_role("button", name="Send").click()
    expect(creator_page.locator("#messages li.msg")).to_have_count(1)

    creator_page.context.set_offline(True)
    expect(creator_page.locator("#conn")).to_have_attribute("data-state", "offline")
    expect(creator_page.locator("#conn")).to_contain_text("reconnecting")

    for n in (1, 2, 3):
        buyer_page.get_by_label("Message", exact=True).fill(f"missed {n}")
        buyer_page.get_by_role("button", name="Send").click()
        expect(
            buyer_page.locator("#messages li.msg.mine", has_text=f"missed {n}").locator(".mark")
        ).to_have_text("Sent")
    # Typed while offline: queued with its client_id, shown as waiting.
    creator_page.get_by_label("Message", exact=True).fill("typed offline")
    creator_page.get_by_role("button", name="Send").click()
    expect(creator_page.locator("#messages li.pending .mark")).to_contain_text("Queued")
    creator_page.wait_for_timeout(1500)
    assert texts(creator_page) == ["before the tunnel", "typed offline"]

    creator_page.context.set_offline(False)
    wait_live(creator_page)
    expected = ["before the tunnel", "missed 1", "missed 2", "missed 3", "typed offline"]
    expect(creator_page.locator("#messages li.msg .msg-text")).to_have_text(expected)
    expect(buyer_page.locator("#messages li.msg .msg-text")).to_have_text(expected)
    expect(creator_page.locator("#messages li.pending")).to_have_count(0)

    # Nothing shows twice, even after a while (heartbeats, late acks).
    creator_page.wait_for_timeout(2500)
    assert texts(creator_page) == expected
    assert texts(buyer_page) == expected
    seqs = creator_page.locator("#messages li.msg").evaluate_all(
        "nodes => nodes.map(n => Number(n.dataset.seq))"
    )
    assert seqs == sorted(set(seqs))

    # A reload renders the same history from the page itself.
    creator_page.reload()
    wait_live(creator_page)
    assert texts(creator_page) == expected
    assert browsing.errors == []
