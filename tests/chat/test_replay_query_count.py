"""A live room's replay (a resume or a sync) reads 50 messages in as many queries as one: the
order room's messages and moves, the dispute room's messages (tests/query_counts.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from chat.rooms.order_frames import order_timeline_frames
from disputes import services as dispute_services
from disputes.selectors import dispute_messages_after
from disputes.serializers import dispute_message_payload as message_data
from orders import services
from tests.query_counts import query_counts

pytestmark = pytest.mark.django_db


def test_order_room_replay(make_order: Any, buyer: Any, creator: Any) -> None:
    order = make_order("IN_PROGRESS")  # placed and accepted: two moves in the timeline
    moves = order.last_seq

    def grow(n: int) -> None:
        for index in range(n):
            sender = buyer if index % 2 else creator
            services.message_post(order=order, sender=sender, content=f"Message {index}.")

    def read() -> int:
        frames = order_timeline_frames(order_id=order.pk, user=buyer, after=0, limit=500)
        return len(frames) - moves

    # The timeline (on PostgreSQL one prepared statement, which bypasses Django's cursor and so
    # is not counted; elsewhere four queries: messages, their files, moves, deliveries), then the
    # moves and the order they render with.
    expected = 2 if connection.vendor == "postgresql" else 6
    assert query_counts(grow=grow, read=read) == [expected, expected]


def test_dispute_room_replay(make_order: Any, buyer: Any, creator: Any, admin_user: Any) -> None:
    order = make_order("IN_PROGRESS")
    dispute = dispute_services.dispute_open(
        order=order, opened_by=buyer, reason="Not what was agreed."
    )

    def grow(n: int) -> None:
        for index in range(n):
            sender = (buyer, creator, admin_user)[index % 3]
            dispute_services.dispute_message_post(
                dispute=dispute, sender=sender, content=f"Message {index}."
            )

    def read() -> int:
        # What DisputeRoomConsumer.timeline_frames sends.
        rows = dispute_messages_after(dispute_id=dispute.pk, after=0, limit=500)
        return len([message_data(row) for row in rows])

    assert query_counts(grow=grow, read=read) == [2, 2]  # the messages, then their files
