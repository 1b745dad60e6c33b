"""The order page shows the latest 50 messages from the page itself; older ones load on scroll."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def long_thread(order, buyer, creator):
    from orders import services

    for n in range(1, 71):
        services.message_post(order=order, sender=buyer if n % 2 else creator, content=f"m{n}")
    return order


def test_history_renders_without_api_calls_and_older_messages_load_on_scroll(
    browsing, password, long_thread
):
    page = browsing.signed_in("buyer", password)
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/" in r.url else None)
    page.goto(f"/orders/{long_thread.pk}/")
    wait_live(page)
    texts = page.locator("#messages li.msg .msg-text")
    expect(texts).to_have_count(50)
    assert texts.first.text_content() == "m21"
    assert api_calls == []  # first paint came from the page: no waterfall

    page.locator("#messages").evaluate("node => { node.scrollTop = 0; }")
    expect(texts).to_have_count(70)
    assert texts.all_text_contents() == [f"m{n}" for n in range(1, 71)]
    assert len(api_calls) == 1 and "before=" in api_calls[0]
    expect(page.get_by_role("button", name="Load older messages")).to_be_hidden()
    assert browsing.errors == []
