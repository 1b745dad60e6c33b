"""allowed_moves never offers a move the service would refuse: unpaid, or disputed."""

from __future__ import annotations

import pytest

from disputes import services as disputes
from tests.conftest import pay

pytestmark = pytest.mark.django_db


def moves(api, user, order):
    response = api(user).get(f"/api/orders/{order.pk}")
    assert response.status_code == 200
    return response.json()["allowed_moves"]


def test_nobody_is_offered_accepting_an_unpaid_order(api, order, creator, buyer, admin_user):
    assert moves(api, creator, order) == ["CANCELLED"]
    assert moves(api, admin_user, order) == ["CANCELLED"]
    assert moves(api, buyer, order) == ["CANCELLED"]
    assert api(creator).get(f"/api/orders/{order.pk}").json()["is_paid"] is False
    pay(order)
    assert moves(api, creator, order) == ["IN_PROGRESS", "CANCELLED"]


def test_a_disputed_order_offers_ending_it_to_admins_only(
    api, make_order, buyer, creator, admin_user
):
    order = make_order("DELIVERED")
    assert moves(api, buyer, order) == ["COMPLETED", "IN_PROGRESS"]
    dispute = disputes.dispute_open(order=order, opened_by=buyer, reason="Not as described.")
    body = api(buyer).get(f"/api/orders/{order.pk}").json()
    assert body["open_dispute_id"] == dispute.pk
    assert body["allowed_moves"] == ["IN_PROGRESS"]
    assert moves(api, admin_user, order) == ["COMPLETED", "IN_PROGRESS"]
    disputes.dispute_close(dispute=dispute, actor=admin_user, resolution="ok", outcome="RESUME")
    assert moves(api, buyer, order) == ["COMPLETED", "IN_PROGRESS"]
    assert api(buyer).get(f"/api/orders/{order.pk}").json()["open_dispute_id"] is None
