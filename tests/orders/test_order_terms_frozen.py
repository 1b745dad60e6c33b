"""An order keeps the listing's terms as they were when it was placed (issue 15, item 4).

Editing or archiving the listing afterwards changes nothing an order shows: its API record, the
order list, its page, its live room's hello, its dispute and the dispute's page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from disputes import services as dispute_services
from orders import rooms, services
from orders.models import Order
from tests.conftest import pay
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

OLD = {
    "title": "Portrait in oils",
    "description": "One sitting, 40 x 50 cm.",
    "item_type": "PRODUCT",
    "base_price": "300.00",
}
NEW = {
    "title": "Cheap sketch now",
    "description": "Pencil only.",
    "item_type": "SERVICE",
    "base_price": "20.00",
}


@pytest.fixture
def listing(creator: Any) -> Any:
    return ItemFactory(
        creator=creator,
        title=OLD["title"],
        description=OLD["description"],
        item_type=OLD["item_type"],
        base_price=Decimal(OLD["base_price"]),
    )


def _change_listing(api: Any, creator: Any, listing: Any, how: str) -> None:
    client = api(creator)
    assert client.patch(f"/api/items/{listing.pk}", NEW).status_code == 200
    if how == "archived":
        assert client.delete(f"/api/items/{listing.pk}").status_code == 204


def _assert_old_terms(record: dict[str, Any], *, final_price: str) -> None:
    assert record["item_title"] == OLD["title"]
    assert record["item_description"] == OLD["description"]
    assert record["item_type"] == OLD["item_type"]
    assert record["listed_price"] == OLD["base_price"]
    assert record["final_price"] == final_price


def _page(user: Any, path: str) -> str:
    browser = Client()
    browser.force_login(user)
    response = browser.get(path)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


@pytest.mark.parametrize("how", ["edited", "archived"])
def test_order_api_and_list_keep_the_terms_of_placement(api, buyer, creator, listing, how):
    placed = api(buyer).post("/api/orders", {"item_id": listing.pk, "final_price": "280.00"})
    assert placed.status_code == 201, placed.content
    _assert_old_terms(placed.json(), final_price="280.00")

    _change_listing(api, creator, listing, how)

    for user in (buyer, creator):
        detail = api(user).get(f"/api/orders/{placed.json()['id']}").json()
        _assert_old_terms(detail, final_price="280.00")
        [row] = api(user).get("/api/orders").json()["results"]
        _assert_old_terms(row, final_price="280.00")
    stored = Order.objects.get(pk=placed.json()["id"])
    assert (stored.item_title, stored.listed_price) == (OLD["title"], Decimal("300.00"))


@pytest.mark.parametrize("how", ["edited", "archived"])
def test_order_page_shows_old_terms_and_the_listed_price_beside_the_agreed(
    api, buyer, creator, listing, how
):
    order = services.order_place(buyer=buyer, item=listing, final_price=Decimal("280.00"))
    _change_listing(api, creator, listing, how)

    html = _page(buyer, f"/orders/{order.pk}/")
    assert OLD["title"] in html and OLD["description"] in html
    assert NEW["title"] not in html and NEW["description"] not in html
    assert "€280.00" in html
    # The amounts carry their decimal value; the browser formats them for the user's locale.
    assert 'listed at <span data-money="300.00">€300.00</span>' in html
    assert "Product" in html


def test_order_page_shows_one_price_when_the_agreed_is_the_listed(buyer, listing):
    order = services.order_place(buyer=buyer, item=listing)
    html = _page(buyer, f"/orders/{order.pk}/")
    assert "€300.00" in html
    assert "listed at" not in html


@pytest.mark.parametrize("how", ["edited", "archived"])
def test_live_room_hello_keeps_the_terms_of_placement(api, buyer, creator, listing, how):
    order = services.order_place(buyer=buyer, item=listing, final_price=Decimal("280.00"))
    _change_listing(api, creator, listing, how)

    state = rooms.order_room_state(order_id=order.pk, user=buyer)
    _assert_old_terms(state.snapshot, final_price="280.00")


@pytest.mark.parametrize("how", ["edited", "archived"])
def test_dispute_and_its_page_keep_the_terms_of_placement(
    api, buyer, creator, admin_user, listing, how
):
    order = services.order_place(buyer=buyer, item=listing, final_price=Decimal("280.00"))
    pay(order)
    services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
    dispute = dispute_services.dispute_open(
        order=order, opened_by=buyer, reason="Not what we agreed on at all."
    )
    _change_listing(api, creator, listing, how)

    html = _page(admin_user, f"/disputes/{dispute.pk}/")
    assert OLD["title"] in html and NEW["title"] not in html
    assert "€280.00" in html and 'listed at <span data-money="300.00">€300.00</span>' in html
    _assert_old_terms(api(admin_user).get(f"/api/orders/{order.pk}").json(), final_price="280.00")


def test_placement_takes_the_listing_as_stored_not_a_stale_copy(api, buyer, creator, listing):
    stale = type(listing).objects.get(pk=listing.pk)
    assert api(creator).patch(f"/api/items/{listing.pk}", NEW).status_code == 200

    order = services.order_place(buyer=buyer, item=stale)

    assert (order.item_title, order.listed_price, order.final_price) == (
        NEW["title"],
        Decimal("20.00"),
        Decimal("20.00"),
    )
