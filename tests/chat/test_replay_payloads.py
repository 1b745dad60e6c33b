"""A live replay's payloads (orders/rooms.py timeline_payloads_after, one prepared statement
on PostgreSQL) equal what the ORM path and the REST serializer render."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chat.rooms.order_frames import order_timeline_frames
from orders import services
from orders.models import Message
from orders.rooms import _timeline_payloads_orm, timeline_payloads_after
from orders.serializers import MessageSerializer

pytestmark = pytest.mark.django_db


def test_replay_payloads_equal_the_orm_path_and_the_rest_payload(make_order, buyer, creator):
    order = make_order("PENDING")
    services.message_post(order=order, sender=buyer, content="first", client_id="c-1")
    services.message_post(order=order, sender=creator, content="ünïcode & <b>")
    services.order_move(order=order, actor=buyer, to_status="CANCELLED")
    last = Message.objects.filter(order=order).order_by("seq").last()
    assert last is not None
    # A time without microseconds renders without a fraction.
    Message.objects.filter(pk=last.pk).update(sent_at=datetime(2026, 11, 27, 7, 0, tzinfo=UTC))

    for after, limit in [(0, 500), (1, 500), (2, 1), (5, 500)]:
        fast = timeline_payloads_after(order_id=order.pk, after=after, limit=limit)
        assert fast == _timeline_payloads_orm(order_id=order.pk, after=after, limit=limit)
    entries = timeline_payloads_after(order_id=order.pk, after=0, limit=500)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    messages = {m.pk: dict(MessageSerializer(m).data) for m in Message.objects.filter(order=order)}
    for entry in entries:
        if entry.message is not None:
            assert entry.message == messages[entry.message["id"]]
    assert [e.message["sent_at"] for e in entries if e.message][-1] == "2026-11-27T07:00:00Z"

    frames = order_timeline_frames(order_id=order.pk, user=creator, after=0, limit=500)
    assert [(seq, frame["type"]) for seq, frame in frames] == [
        (1, "order.status"),
        (2, "message.new"),
        (3, "message.new"),
        (4, "order.status"),
    ]
    assert frames[3][1]["event"]["to_status"] == "CANCELLED"
