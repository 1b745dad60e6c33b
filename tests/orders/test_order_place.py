"""POST /api/orders: placing an order, its price rules and its record."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order, OrderEvent
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def place(api, user, body):
    return api(user).post("/api/orders", body, format="json")


def test_order_record_has_the_documented_fields(api, buyer, creator, item):
    response = place(api, buyer, {"item_id": item.pk, "final_price": "500.00"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["buyer_id"] == buyer.pk
    assert body["creator_id"] == creator.pk
    assert body["item_id"] == item.pk
    assert body["item_title"] == item.title
    assert body["final_price"] == "500.00"
    assert body["status"] == "PENDING"
    assert body["created_at"] and body["updated_at"]
    assert body["allowed_moves"] == ["CANCELLED"]
    stored = Order.objects.get(pk=body["id"])
    assert (stored.buyer_id, stored.creator_id, stored.final_price) == (
        buyer.pk,
        creator.pk,
        Decimal("500.00"),
    )


def test_placement_is_recorded_as_the_first_event(api, buyer, item):
    body = place(api, buyer, {"item_id": item.pk}).json()
    events = list(OrderEvent.objects.filter(order_id=body["id"]).values_list("seq", "to_status"))
    assert events == [(1, "PENDING")]


def test_final_price_defaults_to_the_base_price(api, buyer, item):
    response = place(api, buyer, {"item_id": item.pk})
    assert response.status_code == 201
    assert response.json()["final_price"] == "450.00"


def test_null_final_price_defaults_to_the_base_price(api, buyer, item):
    response = place(api, buyer, {"item_id": item.pk, "final_price": None})
    assert response.status_code == 201
    assert response.json()["final_price"] == "450.00"


def test_missing_price_on_a_free_listing_is_400_not_zero(api, buyer, creator):
    free = ItemFactory(creator=creator, base_price=Decimal("0.00"))
    response = place(api, buyer, {"item_id": free.pk})
    assert response.status_code == 400
    assert "final_price" in response.json()["fields"]
    assert not Order.objects.exists()


def test_json_number_price_keeps_its_exact_value(api, buyer, item):
    response = api(buyer).post(
        "/api/orders",
        data=f'{{"item_id": {item.pk}, "final_price": 0.1}}',
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["final_price"] == "0.10"
    assert Order.objects.get().final_price == Decimal("0.10")


@pytest.mark.parametrize(
    "price",
    ["1000000.00", "1000000", "0.01", 1, "999999.99", "450.5"],
)
def test_accepted_prices(api, buyer, item, price):
    response = place(api, buyer, {"item_id": item.pk, "final_price": price})
    assert response.status_code == 201, response.content
    assert Decimal(response.json()["final_price"]) == Decimal(str(price))


@pytest.mark.parametrize(
    "price",
    [
        "0",
        "0.00",
        "-1",
        "-0.01",
        "1000000.01",
        "2000000",
        "10.001",
        "0.005",
        "abc",
        "NaN",
        "Infinity",
        True,
    ],
)
def test_rejected_prices_are_400(api, buyer, item, price):
    response = place(api, buyer, {"item_id": item.pk, "final_price": price})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert "final_price" in body["fields"]
    assert not Order.objects.exists()


def test_ordering_your_own_item_is_400_own_item(api, creator, item):
    response = place(api, creator, {"item_id": item.pk})
    assert response.status_code == 400
    assert response.json()["code"] == "own_item"
    assert not Order.objects.exists()


def test_unknown_item_is_404(api, buyer):
    response = place(api, buyer, {"item_id": 987654})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_deleted_listing_cannot_be_ordered(api, buyer, creator, item):
    assert api(creator).delete(f"/api/items/{item.pk}").status_code == 204
    response = place(api, buyer, {"item_id": item.pk})
    assert response.status_code == 404


@pytest.mark.parametrize("body", [{}, {"item_id": "x"}, {"item_id": 0}, {"final_price": "10"}])
def test_bad_item_id_is_400(api, buyer, body):
    response = place(api, buyer, body)
    assert response.status_code == 400
    assert "item_id" in response.json()["fields"]


def test_echo_camel_case_keys_are_accepted(api, buyer, item):
    response = place(api, buyer, {"itemId": item.pk, "finalPrice": "123.45"})
    assert response.status_code == 201, response.content
    assert response.json()["item_id"] == item.pk
    assert response.json()["final_price"] == "123.45"


def test_camel_case_price_is_validated_too(api, buyer, item):
    response = place(api, buyer, {"itemId": item.pk, "finalPrice": "0"})
    assert response.status_code == 400
    assert "final_price" in response.json()["fields"]


def test_anonymous_cannot_order(api, item):
    response = place(api, None, {"item_id": item.pk})
    assert response.status_code == 401
    assert not Order.objects.exists()
