"""The notifications feed's hello counts the unread messages of all the caller's orders in a
constant number of queries (not one COUNT per order), and counts them as the order room does."""

from __future__ import annotations

from typing import Any

import pytest

from chat.rooms.order_frames import unread_by_order
from orders import services
from orders.selectors import unread_count
from tests.query_counts import query_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders_with_unread(make_order: Any, buyer: Any, creator: Any) -> Any:
    """`grow(n)` adds n orders on which the creator has messages from the buyer to read."""

    def grow(n: int) -> None:
        for index in range(n):
            order = make_order("IN_PROGRESS")
            for number in range(1 + index % 3):
                services.message_post(order=order, sender=buyer, content=f"Hello {number}.")

    return grow


def test_unread_counts_for_1_and_50_orders(orders_with_unread: Any, creator: Any) -> None:
    counts = query_counts(grow=orders_with_unread, read=lambda: len(unread_by_order(creator)))
    assert counts == [1, 1]


def test_unread_counts_equal_the_order_rooms(make_order: Any, buyer: Any, creator: Any) -> None:
    untouched = make_order("IN_PROGRESS")
    partly_read = make_order("IN_PROGRESS")
    answered = make_order("DELIVERED")
    quiet = make_order("PENDING")
    for order in (untouched, partly_read, answered):
        for number in range(3):
            services.message_post(order=order, sender=buyer, content=f"Question {number}.")
    services.read_mark(order=partly_read, user=creator, seq=partly_read.last_seq - 1)
    services.message_post(order=answered, sender=creator, content="Answered all three.")
    services.message_post(order=answered, sender=buyer, content="Thanks!")

    for user in (creator, buyer):
        expected = {
            str(order.pk): count
            for order in (untouched, partly_read, answered, quiet)
            if (count := unread_count(order=order, user_id=user.pk))
        }
        assert unread_by_order(user) == expected
    assert unread_by_order(creator) == {
        str(untouched.pk): 3,
        str(partly_read.pk): 1,
        str(answered.pk): 1,
    }
    assert unread_by_order(buyer) == {}
