"""Listings declare delivery days and revision rounds; orders freeze them and get a due date."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from orders import services
from orders.models import Order
from tests.conftest import pay

pytestmark = pytest.mark.django_db


def test_a_listing_declares_its_terms_and_the_marketplace_shows_them(
    api: Any, creator: Any
) -> None:
    response = api(creator).post(
        "/api/items",
        {
            "title": "Logo design",
            "base_price": "100.00",
            "item_type": "SERVICE",
            "delivery_days": 3,
            "revisions_included": 2,
        },
    )
    assert response.status_code == 201, response.content
    listed = api(None).get(f"/api/items/{response.json()['id']}").json()
    assert (listed["delivery_days"], listed["revisions_included"]) == (3, 2)


def test_defaults_are_a_week_and_unlimited_revisions(api: Any, creator: Any) -> None:
    response = api(creator).post(
        "/api/items", {"title": "Logo", "base_price": "10", "item_type": "SERVICE"}
    )
    assert response.status_code == 201
    assert (response.json()["delivery_days"], response.json()["revisions_included"]) == (7, None)


@pytest.mark.parametrize(
    "terms",
    [
        {"delivery_days": 0},
        {"delivery_days": 366},
        {"delivery_days": "5"},
        {"revisions_included": -1},
        {"revisions_included": 21},
    ],
)
def test_terms_out_of_range_are_400(api: Any, creator: Any, terms: dict[str, Any]) -> None:
    body = {"title": "Logo", "base_price": "10", "item_type": "SERVICE", **terms}
    response = api(creator).post("/api/items", body)
    assert response.status_code == 400
    assert set(response.json()["fields"]) == set(terms)


def test_the_order_freezes_the_terms_and_is_due_from_acceptance(
    api: Any, buyer: Any, creator: Any, item: Any
) -> None:
    item.delivery_days, item.revisions_included = 4, 1
    item.save()
    order = services.order_place(buyer=buyer, item=item)
    services.item_update(
        item=item, actor=creator, changes={"delivery_days": 30, "revisions_included": 5}
    )
    body = api(buyer).get(f"/api/orders/{order.pk}").json()
    assert (body["delivery_days"], body["revisions_included"]) == (4, 1)
    assert body["accepted_at"] is None and body["due_at"] is None

    pay(order)
    services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
    stored = Order.objects.get(pk=order.pk)
    assert stored.accepted_at is not None
    assert stored.due_at == stored.accepted_at + timedelta(days=4)
    body = api(buyer).get(f"/api/orders/{order.pk}").json()
    assert body["due_at"] is not None and body["accepted_at"] is not None


def test_the_order_page_shows_the_due_date(client: Any, make_order: Any, buyer: Any) -> None:
    order = make_order("IN_PROGRESS")
    client.force_login(buyer)
    page = client.get(f"/orders/{order.pk}/")
    assert page.status_code == 200
    assert page.context["boot"]["order"]["due_at"] is not None
