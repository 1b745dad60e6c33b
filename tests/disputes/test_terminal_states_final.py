"""COMPLETED and CANCELLED orders are final (issue 15, item 6).

Nobody moves them again: not a party, not an admin through the API or the admin site, and not a
dispute outcome. A dispute on an order that was cancelled while it was open closes only with an
outcome valid for it, and the API says which.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from disputes.models import Dispute
from disputes.services import dispute_close
from echo_site.errors import ServiceError
from orders import services
from orders.models import Order, OrderEvent
from payments.models import Payment

pytestmark = pytest.mark.django_db

ALL_OUTCOMES = ["REFUND_BUYER", "PARTIAL_REFUND", "RELEASE_TO_CREATOR", "RESUME"]


def close(api, user, dispute, **body):
    return api(user).patch(f"/api/disputes/{dispute.pk}/close", body)


def _cancelled_while_disputed(open_dispute, api, admin_user):
    dispute = open_dispute("IN_PROGRESS")
    moved = api(admin_user).patch(f"/api/orders/{dispute.order_id}/status", {"status": "CANCELLED"})
    assert moved.status_code == 200, moved.content
    return dispute


@pytest.mark.parametrize("status", ["COMPLETED", "CANCELLED"])
@pytest.mark.parametrize("to", ["PENDING", "IN_PROGRESS", "DELIVERED", "COMPLETED", "CANCELLED"])
def test_nobody_moves_a_final_order_over_the_api(api, make_order, admin_user, status, to):
    order = make_order(status)
    for user in (order.buyer, order.creator, admin_user):
        response = api(user).patch(f"/api/orders/{order.pk}/status", {"status": to})
        assert response.status_code == 409, (user, response.content)
        assert response.json()["code"] == "invalid_transition"
        assert response.json()["allowed_moves"] == []
    assert Order.objects.get(pk=order.pk).status == status


@pytest.mark.parametrize("status", ["COMPLETED", "CANCELLED"])
@pytest.mark.parametrize("to", ["COMPLETED", "CANCELLED"])
def test_a_settlement_never_moves_a_final_order(make_order, admin_user, status, to):
    order = make_order(status)
    events = OrderEvent.objects.filter(order=order).count()
    with pytest.raises(ServiceError) as caught:
        services.order_settle(order=order, actor=admin_user, to_status=to, note="x")
    assert caught.value.code == "invalid_transition"
    assert Order.objects.get(pk=order.pk).status == status
    assert OrderEvent.objects.filter(order=order).count() == events


@pytest.mark.parametrize("status", ["COMPLETED", "CANCELLED"])
def test_the_admin_cancel_action_leaves_final_orders_alone(make_order, admin_user, status):
    order = make_order(status)
    browser = Client()
    browser.force_login(admin_user)
    browser.post("/admin/orders/order/", {"action": "cancel", "_selected_action": [str(order.pk)]})
    assert Order.objects.get(pk=order.pk).status == status


@pytest.mark.parametrize("outcome", ["PARTIAL_REFUND", "RELEASE_TO_CREATOR", "RESUME"])
def test_a_cancelled_orders_dispute_refuses_other_outcomes_with_the_allowed_ones(
    api, open_dispute, admin_user, outcome
):
    dispute = _cancelled_while_disputed(open_dispute, api, admin_user)
    body = {"resolution": "Decided.", "outcome": outcome}
    if outcome == "PARTIAL_REFUND":
        body["refund_amount"] = "10.00"

    response = close(api, admin_user, dispute, **body)

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "outcome_not_allowed"
    assert response.json()["allowed_outcomes"] == ["REFUND_BUYER"]
    assert Order.objects.get(pk=dispute.order_id).status == "CANCELLED"
    assert Dispute.objects.get(pk=dispute.pk).status != "CLOSED"


def test_a_cancelled_orders_dispute_says_which_outcomes_and_closes_with_it(
    api, open_dispute, admin_user
):
    dispute = _cancelled_while_disputed(open_dispute, api, admin_user)
    shown = api(admin_user).get(f"/api/disputes/{dispute.pk}").json()
    assert shown["allowed_outcomes"] == ["REFUND_BUYER"]

    response = close(api, admin_user, dispute, resolution="Refunded.", outcome="REFUND_BUYER")

    assert response.status_code == 200, response.content
    assert response.json()["allowed_outcomes"] == []
    assert Order.objects.get(pk=dispute.order_id).status == "CANCELLED"
    payment = Payment.objects.get(order_id=dispute.order_id)
    assert payment.refunded_amount == payment.total_amount  # once, by the cancellation


def test_an_active_orders_dispute_offers_every_outcome(api, open_dispute, buyer):
    dispute = open_dispute("DELIVERED")
    assert api(buyer).get(f"/api/disputes/{dispute.pk}").json()["allowed_outcomes"] == ALL_OUTCOMES


@pytest.mark.parametrize("outcome", ALL_OUTCOMES)
def test_no_outcome_moves_a_completed_order(open_dispute, admin_user, outcome):
    dispute = open_dispute("COMPLETED")
    amount = Decimal("10.00") if outcome == "PARTIAL_REFUND" else None

    closed = dispute_close(
        dispute=dispute,
        actor=admin_user,
        resolution="Decided.",
        outcome=outcome,
        refund_amount=amount,
    )

    assert closed.status == "CLOSED"
    assert Order.objects.get(pk=dispute.order_id).status == "COMPLETED"
    assert not OrderEvent.objects.filter(order_id=dispute.order_id, to_status="CANCELLED").exists()


def test_dispute_page_offers_only_the_allowed_outcomes(api, open_dispute, admin_user):
    dispute = _cancelled_while_disputed(open_dispute, api, admin_user)
    browser = Client()
    browser.force_login(admin_user)
    html = browser.get(f"/disputes/{dispute.pk}/").content.decode()
    assert 'value="REFUND_BUYER"' in html
    assert 'value="RELEASE_TO_CREATOR"' not in html and 'value="RESUME"' not in html
