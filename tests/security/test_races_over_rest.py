"""Races over the REST API on PostgreSQL, many threads released at once.

Service-level races that already exist: tests/orders/test_order_move_concurrency.py (moves, one
message per client_id, gap-free seqs, one review), tests/disputes/test_dispute_races.py (one open
dispute, two admins closing), tests/payments/test_concurrency.py (duplicate webhooks, refunds
never above paid, one refund per key). These go through the HTTP layer, where the views, the
serializers and the one exception handler take part too.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from disputes.models import DisputeMessage
from orders.models import Message, Review
from payments.models import Payment, Refund
from tests.orders.test_order_move_concurrency import race

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

THREADS = 10


def call(user: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    client = APIClient()
    response = client.generic(
        method,
        path,
        data="" if body is None else json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}",
    )
    return response.status_code, response.json() if response.content else None


def test_concurrent_payment_starts_make_one_payment(order, buyer):
    results = race(lambda i: call(buyer, "POST", f"/api/orders/{order.pk}/payment"), THREADS)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (THREADS - 1) + [201], results
    payment = Payment.objects.get(order=order)
    assert payment.status == "SUCCEEDED"
    assert {body["client_secret"] for _, body in results} == {payment.client_secret}
    # A caller that overtakes the simulated confirmation sees the payment still in flight.
    assert {body["stripe_tx_id"] for _, body in results} <= {"", payment.stripe_tx_id}


def test_concurrent_payment_starts_on_stripe_send_one_intent_key(order, buyer, stripe_double):
    results = race(lambda i: call(buyer, "POST", f"/api/orders/{order.pk}/payment"), THREADS)

    assert sorted(status for status, _ in results) == [200] * (THREADS - 1) + [201], results
    assert Payment.objects.filter(order=order).count() == 1
    assert len({body["client_secret"] for _, body in results}) == 1
    # Every intent request Stripe saw carried the one key derived from the order.
    keys = {r.idempotency_key for r in stripe_double.posts("/v1/payment_intents")}
    assert len(keys) == 1, keys


def test_concurrent_partial_refund_closes_never_refund_above_what_was_paid(
    make_order, buyer, admin_user, django_user_model
):
    from disputes import services as dispute_services

    order = make_order("DELIVERED", price="100.00")
    dispute = dispute_services.dispute_open(
        order=order, opened_by=buyer, reason="Half of it never arrived."
    )
    admins = [admin_user] + [
        django_user_model.objects.create_user(f"admin{i}", is_staff=True) for i in range(5)
    ]

    def close(i: int) -> tuple[int, Any]:
        return call(
            admins[i],
            "PATCH",
            f"/api/disputes/{dispute.pk}/close",
            {"resolution": "Half back.", "outcome": "PARTIAL_REFUND", "refund_amount": "60.00"},
        )

    results = race(close, len(admins))

    assert sorted(status for status, _ in results) == [200] + [409] * (len(admins) - 1), results
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == Decimal("60.00")
    assert sum(r.amount for r in Refund.objects.filter(payment=payment)) == Decimal("60.00")


def test_concurrent_reviews_over_rest_store_one(make_order, buyer):
    order = make_order("COMPLETED")
    results = race(
        lambda i: call(buyer, "POST", "/api/reviews", {"order_id": order.pk, "score": 1 + i % 5}),
        THREADS,
    )

    assert sorted(status for status, _ in results) == [201] + [409] * (THREADS - 1), results
    assert Review.objects.filter(order=order).count() == 1


def test_concurrent_rest_posts_with_one_client_id_store_one_message(order, buyer):
    results = race(
        lambda i: call(
            buyer,
            "POST",
            f"/api/orders/{order.pk}/messages",
            {"content": f"try {i}", "client_id": "same"},
        ),
        THREADS,
    )

    assert sorted(status for status, _ in results) == [200] * (THREADS - 1) + [201], results
    assert len({body["id"] for _, body in results}) == 1
    assert Message.objects.filter(order=order).count() == 1


def test_concurrent_dispute_messages_with_one_client_id_store_one(make_order, buyer):
    from disputes import services as dispute_services

    dispute = dispute_services.dispute_open(
        order=make_order("IN_PROGRESS"), opened_by=buyer, reason="Nothing has happened since."
    )
    results = race(
        lambda i: call(
            buyer,
            "POST",
            f"/api/disputes/{dispute.pk}/messages",
            {"content": f"try {i}", "client_id": "same"},
        ),
        THREADS,
    )

    assert sorted(status for status, _ in results) == [200] * (THREADS - 1) + [201], results
    assert DisputeMessage.objects.filter(dispute=dispute).count() == 1
