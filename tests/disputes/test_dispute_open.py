"""Opening a dispute: who, on which orders, within the window, one open per order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from disputes.models import Dispute
from orders.models import Order

from .conftest import REASON

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", ["IN_PROGRESS", "DELIVERED", "COMPLETED"])
@pytest.mark.parametrize("who", ["buyer", "creator"])
def test_either_party_opens_a_dispute_on_an_engaged_order(
    api, make_order, buyer, creator, status, who
):
    order = make_order(status)
    user = buyer if who == "buyer" else creator
    response = api(user).post("/api/disputes", {"order_id": order.pk, "reason": REASON})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["order_id"] == order.pk
    assert body["status"] == "OPEN"
    assert body["created_by_user_id"] == user.pk
    assert body["created_by_username"] == user.username
    assert body["reason"] == REASON
    assert body["outcome"] is None
    assert body["closed_at"] is None
    assert Dispute.objects.filter(order=order).count() == 1


@pytest.mark.parametrize("status", ["PENDING", "CANCELLED"])
def test_pending_or_cancelled_orders_cannot_be_disputed(api, make_order, buyer, status):
    order = make_order(status)
    response = api(buyer).post("/api/disputes", {"order_id": order.pk, "reason": REASON})
    assert response.status_code == 409
    assert response.json()["code"] == "order_not_disputable"
    assert not Dispute.objects.exists()


def test_completed_orders_only_within_the_window(api, make_order, buyer, settings):
    settings.DISPUTE_WINDOW_DAYS = 14
    order = make_order("COMPLETED")
    Order.objects.filter(pk=order.pk).update(
        completed_at=timezone.now() - timedelta(days=14, minutes=1)
    )
    response = api(buyer).post("/api/disputes", {"order_id": order.pk, "reason": REASON})
    assert response.status_code == 409
    assert response.json()["code"] == "dispute_window_closed"
    Order.objects.filter(pk=order.pk).update(
        completed_at=timezone.now() - timedelta(days=13, hours=23)
    )
    response = api(buyer).post("/api/disputes", {"order_id": order.pk, "reason": REASON})
    assert response.status_code == 201


def test_one_open_dispute_per_order(api, make_order, buyer, creator):
    order = make_order("IN_PROGRESS")
    assert (
        api(buyer).post("/api/disputes", {"order_id": order.pk, "reason": REASON}).status_code
        == 201
    )
    second = api(creator).post("/api/disputes", {"order_id": order.pk, "reason": REASON})
    assert second.status_code == 409
    assert second.json()["code"] == "dispute_already_open"
    assert second.json()["dispute_id"] == Dispute.objects.get().pk


def test_the_database_refuses_a_second_open_dispute(make_order, buyer):
    from django.db import IntegrityError, transaction

    order = make_order("IN_PROGRESS")
    Dispute.objects.create(order=order, opened_by=buyer, reason=REASON)
    with pytest.raises(IntegrityError), transaction.atomic():
        Dispute.objects.create(order=order, opened_by=buyer, reason=REASON, status="UNDER_REVIEW")
    # A closed one does not count.
    Dispute.objects.update(status="CLOSED")
    Dispute.objects.create(order=order, opened_by=buyer, reason=REASON)


@pytest.mark.parametrize("who", ["outsider", "admin_user"])
def test_anyone_else_gets_403(api, make_order, who, request):
    order = make_order("IN_PROGRESS")
    user = request.getfixturevalue(who)
    response = api(user).post("/api/disputes", {"order_id": order.pk, "reason": REASON})
    assert response.status_code == 403
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": REASON}, "order_id"),
        ({"order_id": 1}, "reason"),
        ({"order_id": 1, "reason": "too short"}, "reason"),
        ({"order_id": 1, "reason": "x" * 501}, "reason"),
    ],
)
def test_bad_input_is_400_with_the_field(api, make_order, buyer, body, field):
    order = make_order("IN_PROGRESS")
    if "order_id" in body:
        body = {**body, "order_id": order.pk}
    response = api(buyer).post("/api/disputes", body)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_reason_of_exactly_10_and_500_characters_is_accepted(api, make_order, buyer):
    for length in (10, 500):
        order = make_order("IN_PROGRESS")
        response = api(buyer).post("/api/disputes", {"order_id": order.pk, "reason": "r" * length})
        assert response.status_code == 201


def test_unknown_order_is_404_and_anonymous_401(api, buyer):
    assert api(buyer).post("/api/disputes", {"order_id": 9999, "reason": REASON}).status_code == 404
    assert api(None).post("/api/disputes", {"order_id": 1, "reason": REASON}).status_code == 401


def test_echo_camel_case_order_id_is_accepted(api, make_order, buyer):
    order = make_order("DELIVERED")
    response = api(buyer).post("/api/disputes", {"orderId": order.pk, "reason": REASON})
    assert response.status_code == 201
