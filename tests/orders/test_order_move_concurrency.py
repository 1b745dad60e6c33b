"""Real concurrency on PostgreSQL: racing writes on one order leave exactly one winner."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from echo_site.errors import ServiceError
from orders import services
from orders.models import Message, Order, OrderEvent, Review

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

THREADS = 8


def race(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run `work(i)` in `n` threads released at once; return each result or exception."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_database_is_postgresql():
    assert connection.vendor == "postgresql"


def test_concurrent_moves_exactly_one_wins(make_order, creator):
    order = make_order("IN_PROGRESS")
    seq_before = order.last_seq

    def move(i: int) -> Any:
        fresh = Order.objects.get(pk=order.pk)  # each thread read IN_PROGRESS before the race
        return services.order_move(order=fresh, actor=creator, to_status="DELIVERED")

    results = race(move)

    winners = [r for r in results if isinstance(r, OrderEvent)]
    losers = [r for r in results if isinstance(r, ServiceError)]
    assert len(winners) == 1, results
    assert len(losers) == THREADS - 1, results
    assert {e.code for e in losers} == {"invalid_transition"}
    assert {e.http_status for e in losers} == {409}
    moves = OrderEvent.objects.filter(order=order, to_status="DELIVERED")
    assert moves.count() == 1
    order.refresh_from_db()
    assert order.status == "DELIVERED"
    assert order.last_seq == seq_before + 1


def test_concurrent_different_moves_exactly_one_wins(make_order, buyer):
    # Half the threads accept the delivery, half ask for a revision: the first commit decides.
    order = make_order("DELIVERED")
    events_before = OrderEvent.objects.filter(order=order).count()

    def move(i: int) -> Any:
        fresh = Order.objects.get(pk=order.pk)
        to_status = "COMPLETED" if i % 2 else "IN_PROGRESS"
        return services.order_move(order=fresh, actor=buyer, to_status=to_status)

    results = race(move)

    winners = [r for r in results if isinstance(r, OrderEvent)]
    assert len(winners) == 1, results
    assert all(
        isinstance(r, ServiceError) and r.code == "invalid_transition"
        for r in results
        if r is not winners[0]
    ), results
    assert OrderEvent.objects.filter(order=order).count() == events_before + 1
    order.refresh_from_db()
    assert order.status == winners[0].to_status


def test_concurrent_sends_with_one_client_id_store_one_message(order, buyer):
    def send(i: int) -> Any:
        fresh = Order.objects.get(pk=order.pk)
        return services.message_post(
            order=fresh, sender=buyer, content=f"attempt {i}", client_id="retry-me"
        )

    results = race(send)

    assert not [r for r in results if isinstance(r, Exception)], results
    created = [message for message, was_created in results if was_created]
    assert len(created) == 1
    assert {message.pk for message, _ in results} == {created[0].pk}
    assert Message.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.last_seq == 2


def test_concurrent_messages_get_gap_free_seqs(order, buyer, creator):
    def send(i: int) -> Any:
        fresh = Order.objects.get(pk=order.pk)
        return services.message_post(
            order=fresh, sender=buyer if i % 2 else creator, content=f"message {i}"
        )

    results = race(send)

    assert not [r for r in results if isinstance(r, Exception)], results
    seqs = sorted(message.seq for message, _ in results)
    assert seqs == list(range(2, THREADS + 2))


def test_concurrent_reviews_store_one(make_order, buyer):
    order = make_order("COMPLETED")

    def review(i: int) -> Any:
        fresh = Order.objects.get(pk=order.pk)
        return services.review_leave(order=fresh, author=buyer, score=1 + i % 5)

    results = race(review)

    reviews = [r for r in results if isinstance(r, Review)]
    errors = [r for r in results if isinstance(r, ServiceError)]
    assert len(reviews) == 1, results
    assert len(errors) == THREADS - 1, results
    assert {e.code for e in errors} == {"already_reviewed"}
    assert Review.objects.filter(order=order).count() == 1
