"""When the server goes away the page says so, reconnects with backoff and sends what was typed."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.live import servers

from .conftest import wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_pages_reconnect_after_a_server_restart_and_queued_messages_arrive_once(
    browsing, site, buyer, creator, password, order, tmp_path, monkeypatch
):
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)

    site.kill()
    for page in (buyer_page, creator_page):
        expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
        expect(page.locator("#conn")).to_have_text("Reconnecting…")
    creator_page.get_by_label("Message", exact=True).fill("written while the server was down")
    creator_page.get_by_role("button", name="Send").click()
    expect(creator_page.locator("#messages li.pending .mark")).to_contain_text("Queued")

    monkeypatch.setattr(servers, "free_port", lambda: site.port)  # same address, new process
    restarted = servers.Daphne(redis_url=settings.REDIS_URL, log_path=tmp_path / "daphne-2.log")
    try:
        for page in (buyer_page, creator_page):
            expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        for page in (buyer_page, creator_page):
            expect(page.locator("#messages li.msg .msg-text")).to_have_text(
                ["written while the server was down"]
            )
        expect(creator_page.locator("#messages li.pending")).to_have_count(0)
    finally:
        restarted.stop()
    # The browser reports each refused reconnect attempt; nothing else may show up.
    others = [e for e in browsing.errors if "WebSocket connection to" not in e]
    assert others == []
