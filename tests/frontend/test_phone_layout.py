"""At 390x844 (a phone), for buyer and creator side by side: the chat is one tap away through a
sticky switch (Chat, Details, Timeline), the composer stays at the bottom when the on-screen
keyboard takes half the screen, and every tap target is at least 44 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .a11y import assert_accessible
from .conftest import screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# Buttons, form controls, tabs and links standing alone; links inside running text are exempt
# (WCAG 2.5.8's inline exception), as is the skip link until it is focused.
SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=tab]'))
    .filter(e => e.offsetParent !== null && !e.closest('p, .msg-text, dd, blockquote')
                 && !e.classList.contains('skip'))
    .filter(e => { const r = e.getBoundingClientRect(); return r.height < 44 || r.width < 44; })
    .map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className} "${(e.textContent || '').trim()
      .slice(0, 30)}" ${Math.round(e.getBoundingClientRect().width)}x${
      Math.round(e.getBoundingClientRect().height)}`)"""


def small_targets(page) -> list[str]:
    return page.evaluate(SMALL_TARGETS)


def in_viewport(page, selector: str) -> bool:
    return page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                  return r.top >= 0 && r.bottom <= window.innerHeight; }""",
        selector,
    )


def test_the_chat_is_one_tap_away_and_the_composer_stays_at_the_bottom(
    browsing, buyer, creator, password, make_order
):
    order = make_order("DELIVERED")
    buyer_page = browsing.signed_in("buyer", password, **PHONE)
    creator_page = browsing.signed_in("creator", password, **PHONE)
    for page in (buyer_page, creator_page):
        assert small_targets(page) == [], "My orders"
        page.goto(f"/orders/{order.pk}/")
        wait_live(page)
        switch = page.get_by_role("tablist", name="Order sections")
        expect(switch).to_be_visible()
        # The head leads: status tracker, whose turn, the primary action (for the buyer).
        expect(page.locator("#tracker")).to_be_visible()
        expect(page.locator("#next-step")).to_be_visible()
        assert small_targets(page) == []
        assert_accessible(page, "order page on a phone")

    # Details and Timeline are one tap each; only one panel shows at a time.
    buyer_page.get_by_role("tab", name="Details").click()
    expect(buyer_page.locator("#panel-details")).to_be_visible()
    expect(buyer_page.locator("#panel-chat")).to_be_hidden()
    expect(buyer_page.get_by_role("tab", name="Details")).to_have_attribute("aria-selected", "true")
    expect(buyer_page.locator("#money")).to_be_visible()
    assert small_targets(buyer_page) == []
    buyer_page.get_by_role("tab", name="Timeline").click()
    expect(buyer_page.locator("#timeline")).to_be_visible()
    # Scrolled down, the switch is still on screen (sticky): Chat is one tap away.
    buyer_page.mouse.wheel(0, 2000)
    buyer_page.get_by_role("tab", name="Chat").click()
    expect(buyer_page.locator("#panel-chat")).to_be_visible()
    expect(buyer_page.locator("#panel-timeline")).to_be_hidden()

    compose = buyer_page.get_by_label("Message", exact=True)
    compose.focus()
    assert in_viewport(buyer_page, "#compose")
    # The on-screen keyboard takes half the screen (interactive-widget=resizes-content).
    # The browser then brings the focused field back into view, as a phone does.
    buyer_page.set_viewport_size({"width": 390, "height": 420})
    compose.evaluate("e => { e.blur(); e.focus(); }")
    rect = buyer_page.evaluate(
        "JSON.stringify(document.querySelector('#compose').getBoundingClientRect())"
    )
    assert in_viewport(buyer_page, "#compose"), rect
    bottom = buyer_page.evaluate(
        "document.querySelector('#compose').getBoundingClientRect().bottom"
    )
    assert bottom > 420 - 80  # at the bottom of what is left of the screen
    buyer_page.keyboard.type("typed on a phone")
    buyer_page.keyboard.press("Enter")
    expect(creator_page.locator("#messages li.msg", has_text="typed on a phone")).to_have_count(1)
    # A message arriving while another panel is shown marks the Chat tab; opening it clears that.
    buyer_page.get_by_role("tab", name="Details").click()
    creator_page.get_by_label("Message", exact=True).fill("Got it")
    creator_page.get_by_role("button", name="Send").click()
    expect(buyer_page.get_by_role("tab", name="Chat (new)")).to_be_visible()
    buyer_page.get_by_role("tab", name="Chat").click()
    expect(buyer_page.locator("#tab-chat-unread")).to_be_hidden()
    # Arrow keys move between the tabs too.
    creator_page.get_by_role("tab", name="Chat").focus()
    creator_page.keyboard.press("ArrowRight")
    expect(creator_page.get_by_role("tab", name="Details")).to_be_focused()
    expect(creator_page.locator("#panel-details")).to_be_visible()
    screenshot(buyer_page, "phone-390-order-chat")
    screenshot(creator_page, "phone-390-order-details")
    assert browsing.errors == []
