"""A Stripe webhook storm on PostgreSQL: every event delivered several times, shuffled, from many
threads at once, with signatures made the way Stripe makes them and the real `stripe` package
talking to the recording double (tests/payments/conftest.py)."""

from __future__ import annotations

import queue
import random
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from orders import services
from payments import services as payments
from payments.models import CreatorAccount, Payment, Refund, StripeEvent
from tests.factories import ItemFactory
from tests.payments.conftest import make_event, post_webhook, sign

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

THREADS = 8
COPIES = 3


def deliver_storm(deliveries: list[str], seed: int) -> list[int]:
    """Post every payload (each COPIES times, shuffled) from THREADS threads; the statuses."""
    storm = [payload for payload in deliveries for _ in range(COPIES)]
    random.Random(seed).shuffle(storm)
    work: queue.Queue[str] = queue.Queue()
    for payload in storm:
        work.put(payload)
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        client = Client()
        try:
            barrier.wait(timeout=10)
            while True:
                try:
                    payload = work.get_nowait()
                except queue.Empty:
                    return
                status = post_webhook(client, payload, sign(payload)).status_code
                with lock:
                    statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert len(statuses) == len(storm)
    return statuses


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_shuffled_storm_of_duplicate_events_applies_each_once(
    buyer, creator, stripe_double, seed
):
    orders = [
        services.order_place(buyer=buyer, item=ItemFactory(creator=creator)) for _ in range(4)
    ]
    started = [payments.payment_start(order=o, actor=buyer)[0] for o in orders]
    # The last order is cancelled before the buyer's card goes through: refunded once, in full.
    services.order_move(order=orders[-1], actor=buyer, to_status="CANCELLED")
    account_id = "acct_1StormCreator0001"
    stripe_double.accounts[account_id] = {
        "id": account_id,
        "object": "account",
        "charges_enabled": True,
        "payouts_enabled": True,
        "details_submitted": True,
        "metadata": {},
    }
    CreatorAccount.objects.create(user=creator, stripe_account_id=account_id)

    events: list[str] = []
    for payment in started:
        # A first attempt is declined, a second succeeds: both events arrive, in any order.
        events.append(
            make_event(
                "payment_intent.payment_failed",
                stripe_double.fail_intent(payment.payment_intent_id),
            )
        )
        events.append(
            make_event(
                "payment_intent.succeeded",
                stripe_double.succeed_intent(payment.payment_intent_id),
            )
        )
    events.append(make_event("account.updated", stripe_double.accounts[account_id]))
    events.append(make_event("customer.created", {"id": "cus_1", "object": "customer"}))

    statuses = deliver_storm(events, seed)

    assert set(statuses) == {200}, sorted(set(statuses))
    assert StripeEvent.objects.count() == len(events)
    for payment in started[:-1]:
        payment.refresh_from_db()
        assert payment.status == "SUCCEEDED", payment.status
        assert payment.payment_date is not None
        assert payment.platform_fee == Decimal("10.00")
    cancelled = Payment.objects.get(pk=started[-1].pk)
    assert cancelled.status == "REFUNDED"
    assert cancelled.refunded_amount == cancelled.total_amount
    assert Refund.objects.filter(payment=cancelled).count() == 1
    assert len(stripe_double.posts("/v1/refunds")) == 1
    assert CreatorAccount.objects.get(user=creator).payouts_enabled is True


def test_a_dashboard_refund_announced_before_the_payment_is_still_recorded(
    buyer, creator, stripe_double
):
    order = services.order_place(buyer=buyer, item=ItemFactory(creator=creator))
    payment, _ = payments.payment_start(order=order, actor=buyer)
    intent = stripe_double.succeed_intent(payment.payment_intent_id)
    succeeded = make_event("payment_intent.succeeded", intent)
    # Someone refunds 30.00 on the Stripe dashboard; its event overtakes the success event.
    charge = stripe_double.charges[intent["latest_charge"]]
    charge.update(amount_refunded=3000, refunded=False)
    refunded = make_event("charge.refunded", charge)

    client = Client()
    assert post_webhook(client, refunded, sign(refunded)).status_code == 200
    assert post_webhook(client, succeeded, sign(succeeded)).status_code == 200
    assert post_webhook(client, refunded, sign(refunded)).status_code == 200  # redelivered

    payment.refresh_from_db()
    assert payment.status == "PARTIALLY_REFUNDED", payment.status
    assert payment.refunded_amount == Decimal("30.00")
    assert Refund.objects.filter(payment=payment).count() == 1
    assert stripe_double.posts("/v1/refunds") == []  # recorded, not made a second time
