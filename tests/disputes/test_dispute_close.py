"""Closing a dispute: admins only, once, and each outcome's effect on the order and the money.

The money runs through the real payments services and the stripe package, over the recording
Stripe double (tests/payments/conftest.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from disputes.models import Dispute
from orders.models import Order, OrderEvent
from payments.models import Payment, Payout, Refund

from .conftest import REASON

pytestmark = pytest.mark.django_db


def close(api, user, dispute, **body):
    return api(user).patch(f"/api/disputes/{dispute.pk}/close", body)


@pytest.fixture
def stripe_dispute(make_order, buyer, stripe_double, stripe_paid, connected_creator):
    """`stripe_dispute(status)`: an order paid through Stripe at `status`, disputed by the buyer."""
    from disputes import services as dispute_services
    from orders import services

    def make(status):
        order = make_order("PENDING")
        stripe_paid(order)
        steps = {
            "IN_PROGRESS": ["IN_PROGRESS"],
            "DELIVERED": ["IN_PROGRESS", "DELIVERED"],
            "COMPLETED": ["IN_PROGRESS", "DELIVERED", "COMPLETED"],
        }[status]
        for to in steps:
            actor = order.buyer if to == "COMPLETED" else order.creator
            services.order_move(order=order, actor=actor, to_status=to)
        return dispute_services.dispute_open(order=order, opened_by=buyer, reason=REASON)

    return make


@pytest.mark.parametrize("who", ["buyer", "creator"])
def test_only_admins_close(api, open_dispute, buyer, creator, who):
    dispute = open_dispute()
    user = buyer if who == "buyer" else creator
    response = close(api, user, dispute, resolution="Mine.", outcome="RESUME")
    assert response.status_code == 403
    dispute.refresh_from_db()
    assert dispute.status == "OPEN"


def test_closing_twice_is_409_and_changes_nothing(api, open_dispute, admin_user):
    dispute = open_dispute("DELIVERED")
    first = close(api, admin_user, dispute, resolution="Refund.", outcome="REFUND_BUYER")
    assert first.status_code == 200
    again = close(api, admin_user, dispute, resolution="Refund.", outcome="REFUND_BUYER")
    assert again.status_code == 409
    assert again.json()["code"] == "dispute_closed"
    assert Refund.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "RESUME"}, "resolution"),
        ({"resolution": "x", "outcome": "MAYBE"}, "outcome"),
        ({"resolution": "x", "outcome": "PARTIAL_REFUND"}, "refund_amount"),
        ({"resolution": "x", "outcome": "PARTIAL_REFUND", "refund_amount": "0"}, "refund_amount"),
        (
            {"resolution": "x", "outcome": "PARTIAL_REFUND", "refund_amount": "1.001"},
            "refund_amount",
        ),
        ({"resolution": "x", "outcome": "RESUME", "refund_amount": "5.00"}, "refund_amount"),
    ],
)
def test_bad_close_input_is_400(api, open_dispute, admin_user, body, field):
    dispute = open_dispute()
    response = close(api, admin_user, dispute, **body)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_refund_buyer_refunds_in_full_and_cancels(
    api, stripe_dispute, admin_user, stripe_double, django_capture_on_commit_callbacks
):
    dispute = stripe_dispute("DELIVERED")
    with django_capture_on_commit_callbacks(execute=True):
        response = close(
            api, admin_user, dispute, resolution="Never delivered.", outcome="REFUND_BUYER"
        )
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["outcome"]) == ("CLOSED", "REFUND_BUYER")
    order = Order.objects.get(pk=dispute.order_id)
    assert order.status == "CANCELLED"
    [sent] = stripe_double.posts("/v1/refunds")
    assert sent.params["amount"] == "45000"
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.refunded_amount) == ("REFUNDED", Decimal("450.00"))
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.from_status, event.to_status, event.actor_id) == (
        "DELIVERED",
        "CANCELLED",
        admin_user.pk,
    )
    assert f"Dispute #{dispute.pk}" in event.note
    assert not stripe_double.posts("/v1/transfers")


def test_partial_refund_completes_and_pays_the_creator_the_rest_minus_the_fee(
    api, stripe_dispute, admin_user, stripe_double, django_capture_on_commit_callbacks
):
    dispute = stripe_dispute("DELIVERED")
    with django_capture_on_commit_callbacks(execute=True):
        response = close(
            api,
            admin_user,
            dispute,
            resolution="Half done.",
            outcome="PARTIAL_REFUND",
            refund_amount="150.00",
        )
    assert response.status_code == 200, response.content
    assert response.json()["refund_amount"] == "150.00"
    order = Order.objects.get(pk=dispute.order_id)
    assert order.status == "COMPLETED"
    [refund] = stripe_double.posts("/v1/refunds")
    assert refund.params["amount"] == "15000"
    [transfer] = stripe_double.posts("/v1/transfers")
    payment = Payment.objects.get(order=order)
    payout = Payout.objects.get(payment=payment)
    # 450.00 paid, fee 45.00; the creator's share of the 150.00 refund is 135.00.
    assert payment.platform_fee == Decimal("45.00")
    assert payout.transfer_amount == Decimal("270.00")
    assert transfer.params["amount"] == "27000"
    assert transfer.params["destination"] == "acct_1CreatorTest0001"
    assert payment.refunded_amount == Decimal("150.00")


def test_partial_refund_must_stay_below_what_was_paid(api, stripe_dispute, admin_user):
    dispute = stripe_dispute("DELIVERED")
    response = close(
        api, admin_user, dispute, resolution="x", outcome="PARTIAL_REFUND", refund_amount="450.00"
    )
    assert response.status_code == 400
    assert "refund_amount" in response.json()["fields"]
    assert Dispute.objects.get(pk=dispute.pk).status == "OPEN"
    assert not Refund.objects.exists()


def test_release_to_creator_completes_and_pays_out(
    api, stripe_dispute, admin_user, stripe_double, django_capture_on_commit_callbacks
):
    dispute = stripe_dispute("IN_PROGRESS")
    with django_capture_on_commit_callbacks(execute=True):
        response = close(
            api, admin_user, dispute, resolution="Work is fine.", outcome="RELEASE_TO_CREATOR"
        )
    assert response.status_code == 200
    assert Order.objects.get(pk=dispute.order_id).status == "COMPLETED"
    [transfer] = stripe_double.posts("/v1/transfers")
    assert transfer.params["amount"] == "40500"
    assert not stripe_double.posts("/v1/refunds")


def test_refund_after_completion_refunds_and_reverses_but_the_order_stays_completed(
    api, stripe_dispute, admin_user, stripe_double, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dispute = stripe_dispute("COMPLETED")
    assert len(stripe_double.posts("/v1/transfers")) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = close(api, admin_user, dispute, resolution="Fraud.", outcome="REFUND_BUYER")
    assert response.status_code == 200
    order = Order.objects.get(pk=dispute.order_id)
    # Issue 15: a COMPLETED order is final; only the money comes back.
    assert order.status == "COMPLETED"
    assert Payment.objects.get(order=order).status == "REFUNDED"
    assert len(stripe_double.posts("/v1/refunds")) == 1
    reversals = [r for r in stripe_double.requests if "/reversals" in r.path]
    assert len(reversals) == 1
    assert reversals[0].params["amount"] == "40500"


def test_resume_moves_nothing(api, stripe_dispute, admin_user, stripe_double):
    dispute = stripe_dispute("DELIVERED")
    before = len(stripe_double.requests)
    response = close(api, admin_user, dispute, resolution="Talk it out.", outcome="RESUME")
    assert response.status_code == 200
    assert Order.objects.get(pk=dispute.order_id).status == "DELIVERED"
    assert len(stripe_double.requests) == before
    # The parties may end the order again.
    order = Order.objects.get(pk=dispute.order_id)
    assert (
        api(order.buyer)
        .patch(f"/api/orders/{order.pk}/status", {"status": "COMPLETED"})
        .status_code
        == 200
    )
