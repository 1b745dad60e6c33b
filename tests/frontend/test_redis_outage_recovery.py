"""The order page through a Redis outage: pages opened while Redis is down go live from the
database, and the live stream between them comes back by itself when Redis does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.live.servers import Daphne

from .conftest import wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(tmp_path: Path, private_redis: Any) -> Iterator[Daphne]:
    """ECHO on a real daphne whose Redis the test may kill and restart."""
    server = Daphne(redis_url=private_redis.url, log_path=tmp_path / "daphne.log")
    yield server
    server.stop()


def send(page: Any, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send").click()


def test_the_order_page_works_through_a_redis_outage_and_recovers_after_it(
    browsing, site, private_redis, buyer, creator, password, order
):
    buyer_page = browsing.signed_in("buyer", password)
    creator_page = browsing.signed_in("creator", password)
    for page in (buyer_page, creator_page):
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)

    private_redis.stop()
    # Both pages open again while Redis is down: new sockets, which the process must join to
    # the room and the users' groups without Redis.
    for page in (buyer_page, creator_page):
        page.reload()
        wait_live(page)
    send(creator_page, "written while Redis was down")
    expect(creator_page.locator("#messages li.pending")).to_have_count(0)  # acked: stored
    # The other page gets it from the database (the heartbeat's tail check), not live.
    expect(buyer_page.locator("#messages li.msg .msg-text")).to_have_text(
        ["written while Redis was down"], timeout=20_000
    )

    private_redis.start()
    send(buyer_page, "after Redis came back")
    for page in (buyer_page, creator_page):
        expect(page.locator("#messages li.msg .msg-text")).to_have_text(
            ["written while Redis was down", "after Redis came back"], timeout=20_000
        )
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    # Reconnect attempts may be reported by the browser; nothing else may show up.
    others = [e for e in browsing.errors if "WebSocket connection to" not in e]
    assert others == []
