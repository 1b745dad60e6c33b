"""GET /api/orders and GET /api/orders/{id}: who sees which orders."""

from __future__ import annotations

import pytest

from orders import services
from tests.factories import ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_list_shows_the_callers_orders_as_buyer_or_creator_newest_first(
    api, buyer, creator, outsider, make_order
):
    first = make_order("PENDING")
    second = make_order("IN_PROGRESS")
    # The buyer's own listing, ordered by the creator: the buyer is its creator.
    reverse = services.order_place(buyer=creator, item=ItemFactory(creator=buyer))
    # Someone else's order.
    services.order_place(buyer=outsider, item=ItemFactory(creator=UserFactory()))

    body = api(buyer).get("/api/orders").json()

    assert body["count"] == 3
    assert [o["id"] for o in body["results"]] == [reverse.pk, second.pk, first.pk]
    assert api(outsider).get("/api/orders").json()["count"] == 1


def test_list_filters_by_role_and_status(api, buyer, creator, make_order):
    pending = make_order("PENDING")
    done = make_order("COMPLETED")
    reverse = services.order_place(buyer=creator, item=ItemFactory(creator=buyer))

    def ids(query):
        response = api(buyer).get(f"/api/orders?{query}")
        assert response.status_code == 200
        return {o["id"] for o in response.json()["results"]}

    assert ids("role=buyer") == {pending.pk, done.pk}
    assert ids("role=creator") == {reverse.pk}
    assert ids("status=COMPLETED") == {done.pk}
    assert ids("status=PENDING&role=creator") == {reverse.pk}


@pytest.mark.parametrize("query", ["role=admin", "status=LOST"])
def test_bad_list_filter_is_400(api, buyer, query):
    response = api(buyer).get(f"/api/orders?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_list_is_paginated(api, buyer, make_order):
    for _ in range(3):
        make_order()
    body = api(buyer).get("/api/orders?page_size=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


def test_list_needs_authentication(api):
    assert api(None).get("/api/orders").status_code == 401


@pytest.mark.parametrize("who", ["buyer", "creator", "admin_user"])
def test_parties_and_admins_see_an_order(api, order, who, request):
    user = request.getfixturevalue(who)
    response = api(user).get(f"/api/orders/{order.pk}")
    assert response.status_code == 200
    assert response.json()["id"] == order.pk


def test_anyone_else_gets_403(api, order, outsider):
    response = api(outsider).get(f"/api/orders/{order.pk}")
    assert response.status_code == 403
    assert response.json()["code"] == "not_a_party"


def test_unknown_order_is_404(api, buyer):
    response = api(buyer).get("/api/orders/424242")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
