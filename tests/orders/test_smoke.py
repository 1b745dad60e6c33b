from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db


def test_buyer_places_an_order_at_the_listed_price(api, buyer, item):
    response = api(buyer).post("/api/orders", {"item_id": item.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "PENDING"
    assert body["final_price"] == "450.00"
    assert Decimal(body["final_price"]) == item.base_price
