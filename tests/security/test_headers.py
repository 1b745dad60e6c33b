"""Headers (issue 15, item 10): a Content-Security-Policy on every page (this origin only,
Stripe's origins only on the page that loads Stripe.js, no inline script), and
`Cache-Control: no-store` on authenticated API responses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from disputes import services as dispute_services
from orders import services

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "frontend" / "templates"


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


def _self_only(policy: dict[str, list[str]]) -> None:
    for directive in ("default-src", "script-src", "style-src", "connect-src", "img-src"):
        assert policy[directive] == ["'self'"], (directive, policy)
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)


@pytest.fixture
def pages(buyer, admin_user, make_order):
    order = make_order("IN_PROGRESS")
    dispute = dispute_services.dispute_open(
        order=order, opened_by=buyer, reason="This is not what we agreed."
    )
    return {
        None: ["/", "/signin/", "/register/", "/?creator=x"],
        buyer: ["/", "/orders/", f"/orders/{order.pk}/", f"/disputes/{dispute.pk}/", "/desk/"],
        admin_user: ["/desk/", f"/disputes/{dispute.pk}/"],
    }


def test_every_page_has_a_self_only_policy(pages):
    for user, paths in pages.items():
        browser = Client()
        if user is not None:
            browser.force_login(user)
        for path in paths:
            response = browser.get(path)
            assert response.status_code in (200, 400, 403), (path, response.status_code)
            _self_only(_policy(response))


def test_stripe_origins_only_on_the_order_page_with_card_payments(
    buyer, creator, item, stripe_double
):
    order = services.order_place(buyer=buyer, item=item)
    browser = Client()
    browser.force_login(buyer)

    paying = _policy(browser.get(f"/orders/{order.pk}/"))
    assert "https://js.stripe.com" in paying["script-src"]
    assert "'self'" in paying["script-src"]
    assert "https://js.stripe.com" in paying["frame-src"]
    assert "https://api.stripe.com" in paying["connect-src"]

    for path in ("/", "/orders/"):
        _self_only(_policy(browser.get(path)))


def test_no_stripe_origins_with_simulated_payments(buyer, item):
    order = services.order_place(buyer=buyer, item=item)
    browser = Client()
    browser.force_login(buyer)
    _self_only(_policy(browser.get(f"/orders/{order.pk}/")))


def test_api_docs_run_swagger_ui_without_inline_script():
    response = Client().get("/api/docs")
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    html = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag


def test_templates_have_no_inline_script_or_event_handler():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template, tag)
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "javascript:" not in text, template


@pytest.mark.parametrize(
    "path", ["/api/auth/me", "/api/orders", "/api/items", "/api/disputes", "/api/ws-ticket"]
)
def test_authenticated_api_responses_are_not_stored(api, buyer, path):
    response = api(buyer).get(path)
    assert "no-store" in response["Cache-Control"], (path, response.get("Cache-Control"))


def test_bearer_authenticated_api_responses_are_not_stored(buyer, password):
    from rest_framework.test import APIClient

    client = APIClient()
    tokens = client.post(
        "/api/auth/token", {"username": buyer.username, "password": password}, format="json"
    )
    assert tokens.status_code == 200
    assert "no-store" in tokens["Cache-Control"]  # the tokens themselves
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    assert "no-store" in client.get("/api/orders")["Cache-Control"]


def test_public_api_responses_to_anonymous_clients_may_be_cached(api):
    assert "no-store" not in api(None).get("/api/items").get("Cache-Control", "")
