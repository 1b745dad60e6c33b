"""One lock order on PostgreSQL (orders/services.py, top): dispute messages, read marks, a dispute
closing, order moves, order messages and a payment confirmation, all at once on one order, round
after round, never deadlock, and leave the order's and the dispute's timelines whole."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from disputes import services as dispute_services
from disputes.models import Dispute, DisputeMessage, DisputeStatus
from echo_site.errors import ServiceError
from orders import services
from orders.models import Message, Order, OrderEvent
from payments import services as payment_services
from payments.models import Payment, Refund

from .conftest import REASON

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROUNDS = 12
REPEATS = 6  # calls per worker and round


def run_together(workers: list[Callable[[], None]]) -> list[BaseException]:
    """Run each worker in a thread of its own (its own database connection), released at once;
    return what they raised other than a ServiceError (a refusal is an answer, not a fault)."""
    barrier = threading.Barrier(len(workers))
    faults: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(REPEATS):
                try:
                    work()
                except ServiceError:
                    pass
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on below
            faults.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    return faults


def assert_timeline_whole(order_id: int) -> Order:
    """Every seq of the order's timeline taken once, in order; the moves chain up to its status."""
    order = Order.objects.get(pk=order_id)
    seqs = sorted(
        [*Message.objects.filter(order_id=order_id).values_list("seq", flat=True)]
        + [*OrderEvent.objects.filter(order_id=order_id).values_list("seq", flat=True)]
    )
    assert seqs == list(range(1, order.last_seq + 1))
    status = ""
    for event in OrderEvent.objects.filter(order_id=order_id).order_by("seq"):
        assert event.from_status == status, (event.seq, event.from_status, status)
        status = event.to_status
    assert status == order.status
    return order


def assert_thread_whole(dispute_id: int) -> Dispute:
    dispute = Dispute.objects.get(pk=dispute_id)
    seqs = list(
        DisputeMessage.objects.filter(dispute_id=dispute_id)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert seqs == list(range(1, dispute.last_seq + 1))
    return dispute


def workers(
    *,
    order_id: int,
    dispute_id: int,
    intent: str,
    outcome: str,
    close_after: float,
    buyer: Any,
    creator: Any,
    admin: Any,
) -> list[Callable[[], None]]:
    """One round's writers on the order and its open dispute, each reading its rows afresh."""

    def dispute() -> Dispute:
        return Dispute.objects.select_related("order").get(pk=dispute_id)

    def order() -> Order:
        return Order.objects.get(pk=order_id)

    def dispute_messages(sender: Any) -> Callable[[], None]:
        def post() -> None:
            dispute_services.dispute_message_post(
                dispute=dispute(), sender=sender, content="About the delivery."
            )

        return post

    def admin_joins_and_buyer_reads() -> None:
        dispute_services.dispute_admin_joined(dispute=dispute(), admin=admin)
        dispute_services.dispute_read_mark(dispute=dispute(), user=buyer, seq=10**6)

    def close() -> None:
        time.sleep(close_after)
        dispute_services.dispute_close(
            dispute=dispute(), actor=admin, resolution="Settled by the desk.", outcome=outcome
        )

    def move() -> None:
        current = order()
        if current.status == "IN_PROGRESS":
            services.order_move(order=current, actor=creator, to_status="DELIVERED")
        else:
            services.order_move(order=current, actor=buyer, to_status="IN_PROGRESS")

    def order_message_and_read() -> None:
        services.message_post(order=order(), sender=buyer, content="Any news?")
        services.read_mark(order=order(), user=creator, seq=10**6)

    def payment_confirmed() -> None:  # Stripe's webhook, delivered again
        payment_services.payment_mark_succeeded(payment_intent_id=intent, charge_id="ch_1")

    return [
        dispute_messages(buyer),
        dispute_messages(creator),
        dispute_messages(admin),  # the first one starts the review
        admin_joins_and_buyer_reads,
        close,
        move,
        order_message_and_read,
        payment_confirmed,
    ]


def test_disputes_moves_and_payments_on_one_order_never_deadlock(
    make_order: Any, buyer: Any, creator: Any, admin_user: Any
) -> None:
    assert connection.vendor == "postgresql"
    order_id = make_order("IN_PROGRESS").pk  # paid
    intent = Payment.objects.get(order_id=order_id).payment_intent_id or ""
    chance = random.Random(17)  # noqa: S311 - timing jitter, not security

    for round_number in range(ROUNDS):
        last = round_number == ROUNDS - 1
        dispute_id = dispute_services.dispute_open(
            order=Order.objects.get(pk=order_id),
            opened_by=buyer if round_number % 2 else creator,
            reason=REASON,
        ).pk
        faults = run_together(
            workers(
                order_id=order_id,
                dispute_id=dispute_id,
                intent=intent,
                # The last round refunds: the order, the dispute, then the payment lock.
                outcome="REFUND_BUYER" if last else "RESUME",
                close_after=chance.uniform(0, 0.03),
                buyer=buyer,
                creator=creator,
                admin=admin_user,
            )
        )

        assert faults == [], f"round {round_number}: {faults!r}"
        closed = assert_thread_whole(dispute_id)
        assert closed.status == DisputeStatus.CLOSED
        assert_timeline_whole(order_id)

    # The writers did write: dispute messages in the rounds, moves and messages on the order.
    assert DisputeMessage.objects.filter(dispute__order_id=order_id).count() >= ROUNDS
    assert OrderEvent.objects.filter(order_id=order_id, to_status="DELIVERED").exists()
    assert Message.objects.filter(order_id=order_id).exists()
    final = assert_timeline_whole(order_id)
    assert final.status == "CANCELLED"
    payment = Payment.objects.get(order_id=order_id)
    assert payment.status == "REFUNDED"
    assert payment.refunded_amount == payment.total_amount
    assert Refund.objects.filter(payment=payment).count() == 1
