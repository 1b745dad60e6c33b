"""GET /api/orders runs the same number of SQL queries for a page of 1 order and of 50: paid and
disputed are read with the page, not once per order."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disputes import services as dispute_services
from tests.conftest import pay

pytestmark = pytest.mark.django_db


def queries_for_page(api: Any, user: Any) -> tuple[int, int]:
    client = api(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/orders", {"page_size": 100})
    assert response.status_code == 200, response.content
    return len(captured), response.json()["count"]


def test_the_orders_list_runs_constant_queries_in_its_page_size(
    api: Any, buyer: Any, make_order: Any
) -> None:
    first = make_order("IN_PROGRESS")
    dispute_services.dispute_open(order=first, opened_by=buyer, reason="Not what was agreed.")
    one_page, count = queries_for_page(api, buyer)
    assert count == 1

    for index in range(49):
        placed = make_order("PENDING")
        if index % 2:
            pay(placed)
    fifty_page, count = queries_for_page(api, buyer)

    assert count == 50
    assert fifty_page == one_page


def test_the_listed_state_is_the_same_as_the_detail(api: Any, buyer: Any, make_order: Any) -> None:
    disputed = make_order("IN_PROGRESS")
    dispute = dispute_services.dispute_open(
        order=disputed, opened_by=buyer, reason="Not what was agreed."
    )
    unpaid = make_order("PENDING")
    listed = {row["id"]: row for row in api(buyer).get("/api/orders").json()["results"]}
    for order in (disputed, unpaid):
        detail = api(buyer).get(f"/api/orders/{order.pk}").json()
        for field in ("is_paid", "open_dispute_id", "allowed_moves"):
            assert listed[order.pk][field] == detail[field], field
    assert listed[disputed.pk]["open_dispute_id"] == dispute.pk
    assert listed[disputed.pk]["is_paid"] is True
    assert listed[unpaid.pk]["is_paid"] is False
