"""The live room's hello reads an order's payment and dispute state with the order itself; what
it renders equals what the per-field selectors say (orders/selectors.py
with_payment_and_dispute_state)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disputes import services as dispute_services
from orders.selectors import order_get_for_user, unread_count
from orders.serializers import OrderSerializer
from tests.conftest import pay

pytestmark = pytest.mark.django_db


def rendered(order_id: int, user, *, with_state: bool) -> dict:
    order = order_get_for_user(order_id=order_id, user=user, with_state=with_state)
    request = SimpleNamespace(user=user)
    return dict(OrderSerializer(order, context={"request": request}).data)


@pytest.mark.parametrize("case", ["unpaid", "paid", "disputed"])
def test_state_read_with_the_order_renders_like_the_selectors(case, make_order, buyer, creator):
    order = make_order("PENDING")
    if case != "unpaid":
        pay(order)
    if case == "disputed":
        order = make_order("IN_PROGRESS")
        reason = "The delivery never arrived."
        dispute_services.dispute_open(order=order, opened_by=buyer, reason=reason)
    for user in (buyer, creator):
        expected = rendered(order.pk, user, with_state=False)
        assert rendered(order.pk, user, with_state=True) == expected
    assert expected["is_paid"] is (case != "unpaid")
    assert (expected["open_dispute_id"] is not None) is (case == "disputed")


def test_order_with_its_state_and_unread_count_take_two_queries(make_order, buyer, creator):
    from orders import services

    order = make_order("IN_PROGRESS")
    services.message_post(order=order, sender=creator, content="first")
    services.message_post(order=order, sender=creator, content="second")
    with CaptureQueriesContext(connection) as queries:
        loaded = order_get_for_user(order_id=order.pk, user=buyer, with_state=True)
        data = OrderSerializer(loaded, context={"request": SimpleNamespace(user=buyer)}).data
        assert unread_count(order=loaded, user_id=buyer.pk) == 2
    assert len(queries) == 2, [q["sql"] for q in queries]
    assert data["is_paid"] is True
