"""While a dispute is open the parties cannot complete or cancel; an admin can; chat goes on."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("status", "who", "to_status"),
    [
        ("DELIVERED", "buyer", "COMPLETED"),
        ("IN_PROGRESS", "creator", "CANCELLED"),
    ],
)
def test_parties_cannot_end_a_disputed_order(
    api, open_dispute, buyer, creator, status, who, to_status
):
    dispute = open_dispute(status)
    user = buyer if who == "buyer" else creator
    response = api(user).patch(f"/api/orders/{dispute.order_id}/status", {"status": to_status})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "dispute_open"
    assert body["dispute_id"] == dispute.pk
    assert f"#{dispute.pk}" in body["error"]
    dispute.order.refresh_from_db()
    assert dispute.order.status == status


def test_other_moves_and_chat_go_on(api, open_dispute, buyer, creator):
    dispute = open_dispute("IN_PROGRESS")
    order_id = dispute.order_id
    assert (
        api(creator).patch(f"/api/orders/{order_id}/status", {"status": "DELIVERED"}).status_code
        == 200
    )
    assert (
        api(buyer).patch(f"/api/orders/{order_id}/status", {"status": "IN_PROGRESS"}).status_code
        == 200
    )
    response = api(buyer).post(f"/api/orders/{order_id}/messages", {"content": "still talking"})
    assert response.status_code == 201


def test_an_admin_may_cancel_a_disputed_order(api, open_dispute, admin_user):
    dispute = open_dispute("IN_PROGRESS")
    response = api(admin_user).patch(
        f"/api/orders/{dispute.order_id}/status", {"status": "CANCELLED"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
