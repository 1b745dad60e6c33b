"""axe-core (vendored, tests/frontend/vendor) finds no WCAG 2.2 A/AA violation on any page, on a
desktop and on a 390 px phone, for the three roles in their own browsers; the focus ring has at
least 3:1 contrast against what it sits on."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .a11y import assert_accessible
from .conftest import wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def disputed(make_order, buyer):
    from disputes import services as dispute_services
    from orders import services

    order = make_order("DELIVERED")
    services.message_post(order=order, sender=buyer, content="See https://example.com/a please")
    dispute = dispute_services.dispute_open(order=order, opened_by=buyer, reason="Not as agreed.")
    return order, dispute


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_no_axe_violations_on_any_page(
    browsing, buyer, creator, admin_user, password, disputed, make_order, viewport
):
    size = VIEWPORTS[viewport]
    order, dispute = disputed
    completed = make_order("COMPLETED")

    anonymous = browsing.page(**size)
    for path in ("/", "/signin/", "/register/"):
        anonymous.goto(path)
        assert_accessible(anonymous, f"{path} anonymous, {viewport}")

    pages = {
        "buyer": browsing.signed_in("buyer", password, **size),
        "creator": browsing.signed_in("creator", password, **size),
        "admin": browsing.signed_in("admin", password, **size),
    }
    for who, page in pages.items():
        paths = ["/", "/orders/", f"/orders/{order.pk}/", f"/disputes/{dispute.pk}/"]
        if who != "admin":
            paths.append(f"/orders/{completed.pk}/")
        else:
            paths.append("/desk/")
        for path in paths:
            page.goto(path)
            if path != "/":
                wait_live(page)
            assert_accessible(page, f"{path} as {who}, {viewport}")
        if viewport == "phone":
            page.goto(f"/orders/{order.pk}/")
            wait_live(page)
            for tab in ("Details", "Timeline"):
                page.get_by_role("tab", name=tab).click()
                assert_accessible(page, f"order {tab} tab as {who}")
    missing = pages["buyer"]
    missing.goto("/orders/999999/")
    expect(missing.locator("main")).to_contain_text("does not exist")
    assert_accessible(missing, f"error page, {viewport}")
    assert browsing.errors == [
        "console: Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]


def _luminance(rgb: tuple[int, ...]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgb(css: str) -> tuple[int, ...]:
    return tuple(int(float(v)) for v in css[css.index("(") + 1 : css.index(")")].split(","))


def test_the_focus_ring_has_3_to_1_contrast(browsing, buyer, password, order):
    page = browsing.signed_in("buyer", password)
    page.goto(f"/orders/{order.pk}/")
    wait_live(page)
    checks = [
        ("#actions .primary", "rgb(255, 255, 255)"),  # on the white head card
        ("#compose-text", "rgb(255, 255, 255)"),
        (".top nav a", "rgb(20, 33, 61)"),  # on the dark header
    ]
    for selector, background in checks:
        page.locator(selector).first.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # focus by keyboard: :focus-visible applies
        style = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
        )
        assert style[0] == "solid" and float(style[1].rstrip("px")) >= 2, (selector, style)
        assert contrast(rgb(style[2]), rgb(background)) >= 3, (selector, style)
        assert contrast(rgb(style[2]), rgb("rgb(246, 247, 249)")) >= 3 or "nav" in selector
    assert browsing.errors == []
