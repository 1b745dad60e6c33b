"""Listings: public reads, validated writes, changes by the creator only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Item
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

VALID = {
    "title": "Logo design",
    "description": "Three concepts.",
    "base_price": "450.00",
    "item_type": "SERVICE",
}


def test_listings_are_public_and_paginated(api, creator):
    for _ in range(3):
        ItemFactory(creator=creator)
    response = api(None).get("/api/items?page_size=2")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]
    assert set(body["results"][0]) >= {
        "id",
        "creator_id",
        "title",
        "description",
        "base_price",
        "item_type",
    }


def test_listings_filter_by_item_type_and_creator(api, creator, buyer):
    product = ItemFactory(creator=creator, item_type="PRODUCT")
    service = ItemFactory(creator=creator, item_type="SERVICE")
    other = ItemFactory(creator=buyer, item_type="SERVICE")

    def ids(query):
        response = api(None).get(f"/api/items?{query}")
        assert response.status_code == 200
        return {i["id"] for i in response.json()["results"]}

    assert ids("item_type=PRODUCT") == {product.pk}
    assert ids(f"creator={creator.pk}") == {product.pk, service.pk}
    assert ids(f"creator={buyer.pk}&item_type=SERVICE") == {other.pk}


def test_bad_item_type_filter_is_400(api):
    response = api(None).get("/api/items?item_type=CAR")
    assert response.status_code == 400
    assert "item_type" in response.json()["fields"]


def test_one_listing_is_public(api, item):
    response = api(None).get(f"/api/items/{item.pk}")
    assert response.status_code == 200
    assert response.json()["base_price"] == "450.00"


def test_unknown_listing_is_404(api):
    response = api(None).get("/api/items/99999")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_caller_becomes_the_creator(api, buyer):
    response = api(buyer).post("/api/items", VALID, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["creator_id"] == buyer.pk
    assert body["base_price"] == "450.00"
    assert Item.objects.get(pk=body["id"]).creator_id == buyer.pk


def test_creating_a_listing_needs_authentication(api):
    response = api(None).post("/api/items", VALID, format="json")
    assert response.status_code == 401
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    "override",
    [
        {"title": "ab"},
        {"title": "x" * 151},
        {"description": "x" * 5001},
        {"base_price": "-0.01"},
        {"base_price": "1.001"},
        {"base_price": "free"},
        {"item_type": "CAR"},
        {"item_type": None},
    ],
)
def test_invalid_listing_is_400(api, buyer, override):
    response = api(buyer).post("/api/items", {**VALID, **override}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert set(override) <= set(body["fields"])
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    "override",
    [
        {"title": "abc"},
        {"title": "x" * 150},
        {"description": "x" * 5000},
        {"description": ""},
        {"base_price": "0"},
        {"item_type": "PRODUCT"},
    ],
)
def test_boundary_listing_is_accepted(api, buyer, override):
    response = api(buyer).post("/api/items", {**VALID, **override}, format="json")
    assert response.status_code == 201, response.content


def test_creator_patches_their_listing(api, creator, item):
    response = api(creator).patch(
        f"/api/items/{item.pk}", {"title": "New title", "base_price": "99.99"}, format="json"
    )
    assert response.status_code == 200, response.content
    item.refresh_from_db()
    assert (item.title, item.base_price) == ("New title", Decimal("99.99"))
    assert item.item_type == "SERVICE"


def test_patch_is_validated(api, creator, item):
    response = api(creator).patch(f"/api/items/{item.pk}", {"title": "ab"}, format="json")
    assert response.status_code == 400
    item.refresh_from_db()
    assert item.title != "ab"


def test_someone_else_cannot_patch_or_delete(api, buyer, item):
    patch = api(buyer).patch(f"/api/items/{item.pk}", {"title": "Mine now"}, format="json")
    delete = api(buyer).delete(f"/api/items/{item.pk}")
    assert (patch.status_code, delete.status_code) == (403, 403)
    assert patch.json()["code"] == "permission_denied"
    item.refresh_from_db()
    assert item.title != "Mine now"
    assert not item.is_archived


def test_anonymous_cannot_patch_or_delete(api, item):
    assert api(None).patch(f"/api/items/{item.pk}", {"title": "Nope"}).status_code == 401
    assert api(None).delete(f"/api/items/{item.pk}").status_code == 401


def test_creator_deletes_a_listing_and_it_disappears(api, creator, item):
    assert api(creator).delete(f"/api/items/{item.pk}").status_code == 204
    assert api(None).get(f"/api/items/{item.pk}").status_code == 404
    assert api(None).get("/api/items").json()["count"] == 0


def test_deleting_keeps_orders_placed_on_the_listing(api, creator, buyer, order, item):
    assert api(creator).delete(f"/api/items/{item.pk}").status_code == 204
    response = api(buyer).get(f"/api/orders/{order.pk}")
    assert response.status_code == 200
    assert response.json()["item_title"] == item.title
