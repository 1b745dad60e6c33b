"""Concurrent duplicate deliveries and concurrent refunds, on PostgreSQL with real threads."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from echo_site.errors import ServiceError
from orders import services
from payments import services as payments
from payments.models import Payment, Refund, StripeEvent
from tests.factories import ItemFactory
from tests.payments.conftest import make_event, post_webhook, sign

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

THREADS = 6


def run_together(fn):
    barrier = threading.Barrier(THREADS)
    results: list = [None] * THREADS

    def worker(index):
        try:
            barrier.wait(timeout=10)
            results[index] = fn(index)
        except Exception as exc:  # noqa: BLE001 - reported below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_duplicate_deliveries_apply_the_event_once(buyer, creator, stripe_double):
    order = services.order_place(buyer=buyer, item=ItemFactory(creator=creator))
    payment, _ = payments.payment_start(order=order, actor=buyer)
    services.order_move(order=order, actor=buyer, to_status="CANCELLED")
    # The buyer's payment goes through after all: the handler must refund it exactly once.
    intent = stripe_double.succeed_intent(payment.payment_intent_id)
    payload = make_event("payment_intent.succeeded", intent)
    signature = sign(payload)

    results = run_together(lambda i: post_webhook(Client(), payload, signature).status_code)

    assert results == [200] * THREADS
    assert StripeEvent.objects.count() == 1
    assert Payment.objects.get().status == "REFUNDED"
    assert Refund.objects.count() == 1
    assert len(stripe_double.posts("/v1/refunds")) == 1


def test_concurrent_refunds_never_exceed_what_was_paid(buyer, creator):
    order = services.order_place(buyer=buyer, item=ItemFactory(creator=creator))
    payments.payment_start(order=order, actor=buyer)  # simulated: paid at once (100.00)

    def refund(index):
        payment = Payment.objects.get(order=order)
        return payments.refund_create(
            payment=payment, amount=Decimal("30.00"), idempotency_key=f"k{index}"
        )

    results = run_together(refund)

    made = [r for r in results if isinstance(r, Refund)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(made) == 3 and len(refused) == THREADS - 3
    assert {e.code for e in refused} == {"refund_exceeds_paid"}
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == Decimal("90.00")
    assert sum(r.amount for r in Refund.objects.all()) == Decimal("90.00")


def test_concurrent_retries_with_one_key_make_one_refund(buyer, creator):
    order = services.order_place(buyer=buyer, item=ItemFactory(creator=creator))
    payments.payment_start(order=order, actor=buyer)

    results = run_together(
        lambda i: (
            payments.refund_create(
                payment=Payment.objects.get(order=order),
                amount=Decimal("10.00"),
                idempotency_key="same",
            ).pk
        )
    )

    assert len(set(results)) == 1
    assert Refund.objects.count() == 1
