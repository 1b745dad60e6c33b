"""POST/GET /api/orders/{id}/payment: the buyer funds a pending order through a PaymentIntent."""

from __future__ import annotations

import json

import pytest

from payments.models import Payment
from tests.payments.conftest import PUBLISHABLE_KEY, SECRET_KEY

pytestmark = pytest.mark.django_db


def test_paying_creates_a_payment_intent_in_cents_with_order_metadata(
    api, order, buyer, stripe_double
):
    response = api(buyer).post(f"/api/orders/{order.pk}/payment")

    assert response.status_code == 201, response.content
    [sent] = stripe_double.posts("/v1/payment_intents")
    assert sent.params["amount"] == "45000"  # 450.00 EUR in cents
    assert sent.params["currency"] == "eur"
    assert sent.params["metadata[order_id]"] == str(order.pk)
    assert sent.params["transfer_group"] == f"order-{order.pk}"
    assert sent.idempotency_key == f"payment-order-{order.pk}"
    assert sent["headers"]["Authorization"] == f"Bearer {SECRET_KEY}"
    body = response.json()
    intent = stripe_double.intents[Payment.objects.get().payment_intent_id]
    assert body["client_secret"] == intent["client_secret"]
    assert body["publishable_key"] == PUBLISHABLE_KEY
    assert body["status"] == "REQUIRES_PAYMENT"
    assert body["total_amount"] == "450.00"
    assert body["currency"] == "eur"
    assert body["simulated"] is False
    assert SECRET_KEY not in json.dumps(body)


def test_paying_again_returns_the_same_payment_without_a_second_intent(
    api, order, buyer, stripe_double
):
    first = api(buyer).post(f"/api/orders/{order.pk}/payment").json()
    again = api(buyer).post(f"/api/orders/{order.pk}/payment")

    assert again.status_code == 200
    assert again.json()["client_secret"] == first["client_secret"]
    assert len(stripe_double.posts("/v1/payment_intents")) == 1
    assert Payment.objects.count() == 1


def test_a_failed_intent_creation_is_retried_with_the_same_key(api, order, buyer, stripe_double):
    stripe_double.fail("POST", "/v1/payment_intents", status=500)
    failed = api(buyer).post(f"/api/orders/{order.pk}/payment")
    assert failed.status_code == 502
    assert failed.json()["code"] == "payment_provider_error"
    assert SECRET_KEY not in failed.content.decode()

    retried = api(buyer).post(f"/api/orders/{order.pk}/payment")

    assert retried.status_code == 200
    keys = [r.idempotency_key for r in stripe_double.posts("/v1/payment_intents")]
    assert keys == [f"payment-order-{order.pk}"] * 2
    assert retried.json()["client_secret"]


def test_stripes_own_network_retry_sends_the_same_idempotency_key(
    api, order, buyer, stripe_double, settings
):
    from payments import gateway

    settings.STRIPE_MAX_NETWORK_RETRIES = 2
    gateway._stripe_gateway.cache_clear()
    # A 503 without Stripe-Should-Retry: false is retried by the stripe package itself.
    stripe_double.fail("POST", "/v1/payment_intents", status=503, retryable=True)

    response = api(buyer).post(f"/api/orders/{order.pk}/payment")

    assert response.status_code == 201
    sent = stripe_double.posts("/v1/payment_intents")
    assert len(sent) == 2
    assert sent[0].idempotency_key == sent[1].idempotency_key == f"payment-order-{order.pk}"


@pytest.mark.parametrize("who", ["creator", "admin_user"])
def test_only_the_buyer_pays(api, order, who, request, stripe_double):
    response = api(request.getfixturevalue(who)).post(f"/api/orders/{order.pk}/payment")
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_role"
    assert stripe_double.requests == []


def test_an_outsider_cannot_pay_or_see_the_payment(api, paid_order, outsider):
    assert api(outsider).post(f"/api/orders/{paid_order.pk}/payment").status_code == 403
    assert api(outsider).get(f"/api/orders/{paid_order.pk}/payment").status_code == 403


def test_only_a_pending_order_can_be_paid(api, order, buyer):
    api(buyer).patch(f"/api/orders/{order.pk}/status", {"status": "CANCELLED"})
    response = api(buyer).post(f"/api/orders/{order.pk}/payment")
    assert response.status_code == 409
    assert response.json()["code"] == "order_not_payable"
    assert not Payment.objects.exists()


def test_get_payment_for_parties_and_admins(api, paid_order, buyer, creator, admin_user):
    for user in (buyer, creator, admin_user):
        response = api(user).get(f"/api/orders/{paid_order.pk}/payment")
        assert response.status_code == 200
        body = response.json()
        assert set(body) >= {
            "stripe_tx_id",
            "total_amount",
            "platform_fee",
            "payment_date",
            "currency",
            "status",
            "refunded_amount",
            "payout_status",
        }
        assert "client_secret" not in body


def test_get_payment_before_paying_is_404(api, order, buyer):
    response = api(buyer).get(f"/api/orders/{order.pk}/payment")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_creator_cannot_accept_an_unpaid_order(api, order, creator, admin_user):
    for user in (creator, admin_user):
        response = api(user).patch(f"/api/orders/{order.pk}/status", {"status": "IN_PROGRESS"})
        assert response.status_code == 409
        assert response.json()["code"] == "order_not_paid"
    order.refresh_from_db()
    assert order.status == "PENDING"


def test_a_failed_payment_does_not_let_the_creator_accept(
    api, order, buyer, creator, stripe_double, deliver
):
    from tests.payments.conftest import make_event

    api(buyer).post(f"/api/orders/{order.pk}/payment")
    intent = stripe_double.fail_intent(Payment.objects.get().payment_intent_id)
    assert deliver(make_event("payment_intent.payment_failed", intent)).status_code == 200

    payment = Payment.objects.get()
    assert payment.status == "FAILED"
    assert payment.failure_message == "Your card was declined."
    response = api(creator).patch(f"/api/orders/{order.pk}/status", {"status": "IN_PROGRESS"})
    assert response.json()["code"] == "order_not_paid"


def test_the_order_json_says_whether_it_is_paid(api, order, buyer):
    before = api(buyer).get(f"/api/orders/{order.pk}").json()
    assert before["is_paid"] is False
    assert before["payments_simulated"] is True
    api(buyer).post(f"/api/orders/{order.pk}/payment")
    assert api(buyer).get(f"/api/orders/{order.pk}").json()["is_paid"] is True


def test_stripe_mode_order_json_is_not_simulated(api, order, buyer, stripe_double):
    assert api(buyer).get(f"/api/orders/{order.pk}").json()["payments_simulated"] is False
