"""Every page works under its Content-Security-Policy in a real browser (issue 15, item 10):
no CSP violation in the console on the marketplace, the order workspace with its live socket,
the dispute room, the desk, the sign-in form and the API docs."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from disputes import services as dispute_services

from .conftest import wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def disputed_order(make_order, buyer):
    order = make_order("IN_PROGRESS")
    dispute = dispute_services.dispute_open(
        order=order, opened_by=buyer, reason="The creator stopped answering for a week."
    )
    return order, dispute


def _visit(page, path):
    response = page.goto(path)
    assert response.status == 200, path
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, (path, policy)
    return page


def test_pages_run_under_their_policy_without_violations(
    browsing, buyer, admin_user, password, disputed_order
):
    order, dispute = disputed_order
    anonymous = browsing.page()
    _visit(anonymous, "/signin/")
    _visit(anonymous, "/api/docs")
    expect(anonymous.locator(".swagger-ui .info .title")).to_contain_text("ECHO")

    shopper = browsing.signed_in("buyer", password)
    _visit(shopper, "/")
    _visit(shopper, "/orders/")
    wait_live(shopper)
    _visit(shopper, f"/orders/{order.pk}/")
    wait_live(shopper)
    shopper.get_by_role("textbox", name="Message").fill("Still there?")
    shopper.get_by_role("button", name="Send").click()
    expect(shopper.locator("#messages")).to_contain_text("Still there?")

    admin = browsing.signed_in("admin", password)
    _visit(admin, "/desk/")
    wait_live(admin)
    _visit(admin, f"/disputes/{dispute.pk}/")
    wait_live(admin)

    violations = [e for e in browsing.errors if "Content Security Policy" in e]
    assert violations == []
    assert browsing.errors == []


def test_the_browser_enforces_the_policy(browsing, buyer, password):
    """The header is not decoration: an injected inline script does not run."""
    page = browsing.signed_in("buyer", password)
    _visit(page, "/")
    ran = page.evaluate(
        """() => {
            window.__ran = false;
            const s = document.createElement("script");
            s.textContent = "window.__ran = true";
            document.body.append(s);
            return window.__ran;
        }"""
    )
    assert ran is False
    assert any("Content Security Policy" in e for e in browsing.errors)
