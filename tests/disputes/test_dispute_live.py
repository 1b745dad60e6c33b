"""The dispute room live: an admin joins, both parties see it, hear the admin, see the close."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from disputes import services
from disputes.models import Dispute
from tests.chat.conftest import communicator, connect, receive_until

from .conftest import REASON

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_admin_joins_mediates_and_closes_while_both_parties_watch(
    open_dispute, buyer, creator, admin_user
):
    dispute = await database_sync_to_async(open_dispute)("DELIVERED")
    path = f"/ws/disputes/{dispute.pk}/"
    b, hello = await connect(path, user=buyer)
    assert (hello["room"], hello["you"]["role"], hello["status"]) == ("dispute", "buyer", "OPEN")
    c, _ = await connect(path, user=creator)
    order_room, _ = await connect(f"/ws/orders/{dispute.order_id}/", user=creator)

    a, admin_hello = await connect(path, user=admin_user)
    assert admin_hello["you"]["role"] == "admin"
    assert admin_hello["status"] == "UNDER_REVIEW"
    for party in (b, c):
        frames = []
        while not {"presence", "dispute.status"} <= {f["type"] for f in frames}:
            frame = await party.receive_json_from(timeout=5)
            if frame["type"] != "presence" or frame["user_id"] == admin_user.pk:
                frames.append(frame)
        joined = next(f for f in frames if f["type"] == "presence")
        assert (joined["online"], joined["role"]) == (True, "admin")
        status = next(f for f in frames if f["type"] == "dispute.status")
        assert status["dispute"]["status"] == "UNDER_REVIEW"

    await a.send_json_to(
        {"type": "message.send", "content": "Please share the files.", "client_id": "a1"}
    )
    ack = await a.receive_json_from(timeout=5)
    while ack["type"] != "message.ack":  # the admin may also hear its own UNDER_REVIEW, presence
        assert ack["type"] in {"presence", "dispute.status"}, ack
        ack = await a.receive_json_from(timeout=5)
    assert ack["message"]["from_admin"] is True
    for party in (b, c):
        new = await receive_until(party, "message.new")
        assert new["message"] == ack["message"]

    await b.send_json_to({"type": "message.send", "content": "Here they are.", "client_id": "b1"})
    assert (await receive_until(b, "message.ack"))["message"]["from_admin"] is False
    assert (await receive_until(a, "message.new"))["message"]["content"] == "Here they are."
    assert (await receive_until(c, "message.new"))["message"]["content"] == "Here they are."

    await database_sync_to_async(services.dispute_close)(
        dispute=dispute, actor=admin_user, resolution="Refunding.", outcome="REFUND_BUYER"
    )
    for party in (b, c):
        closed = await receive_until(party, "dispute.closed")
        assert (closed["dispute"]["status"], closed["dispute"]["outcome"]) == (
            "CLOSED",
            "REFUND_BUYER",
        )
    # The order room hears of the dispute's end and of the order's move.
    frames = []
    while not {"dispute.closed", "order.status"} <= {f["type"] for f in frames}:
        frames.append(await order_room.receive_json_from(timeout=5))
    status_frame = next(f for f in frames if f["type"] == "order.status")
    assert status_frame["order"]["status"] == "CANCELLED"

    await b.send_json_to({"type": "message.send", "content": "thanks", "client_id": "b2"})
    assert (await receive_until(b, "error"))["code"] == "dispute_closed"
    for comm in (a, b, c, order_room):
        await comm.disconnect()


async def test_the_mediation_desk_queue_streams_new_and_updated_disputes(
    make_order, buyer, admin_user
):
    order = await database_sync_to_async(make_order)("IN_PROGRESS")
    desk, hello = await connect("/ws/admin/disputes/", user=admin_user)
    assert (hello["room"], hello["open"]) == ("admin.disputes", [])
    dispute = await database_sync_to_async(services.dispute_open)(
        order=order, opened_by=buyer, reason=REASON
    )
    opened = await receive_until(desk, "dispute.opened")
    assert opened["dispute"]["id"] == dispute.pk
    await database_sync_to_async(services.dispute_message_post)(
        dispute=dispute, sender=admin_user, content="On it."
    )
    updated = await receive_until(desk, "dispute.updated")
    assert updated["dispute"]["status"] == "UNDER_REVIEW"
    desk2, hello2 = await connect("/ws/admin/disputes/", user=admin_user)
    assert [d["id"] for d in hello2["open"]] == [dispute.pk]
    await desk.disconnect()
    await desk2.disconnect()


async def test_non_staff_are_refused_from_the_desk_and_outsiders_from_the_room(
    open_dispute, buyer, outsider
):
    dispute = await database_sync_to_async(open_dispute)()
    desk = communicator("/ws/admin/disputes/", user=buyer)
    await desk.connect(timeout=5)
    assert await desk.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    room = communicator(f"/ws/disputes/{dispute.pk}/", user=outsider)
    await room.connect(timeout=5)
    assert await room.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    missing = communicator("/ws/disputes/99999/", user=outsider)
    await missing.connect(timeout=5)
    assert await missing.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


async def test_parties_feeds_hear_of_a_new_dispute(make_order, buyer, creator):
    order = await database_sync_to_async(make_order)("IN_PROGRESS")
    feed, _ = await connect("/ws/notifications/", user=creator)
    dispute = await database_sync_to_async(services.dispute_open)(
        order=order, opened_by=buyer, reason=REASON
    )
    frame = await receive_until(feed, "dispute.opened")
    assert (frame["dispute_id"], frame["order_id"]) == (dispute.pk, order.pk)
    assert await database_sync_to_async(Dispute.objects.count)() == 1
    await feed.disconnect()


async def test_resume_in_a_dispute_room_is_gap_free(open_dispute, buyer, creator):
    dispute = await database_sync_to_async(open_dispute)()
    for n in range(4):
        await database_sync_to_async(services.dispute_message_post)(
            dispute=dispute, sender=buyer, content=f"point {n}"
        )
    c, hello = await connect(f"/ws/disputes/{dispute.pk}/?after_seq=1", user=creator)
    assert hello["last_seq"] == 4
    seqs = []
    while True:
        frame = await c.receive_json_from(timeout=5)
        if frame["type"] == "sync.done":
            break
        if frame["type"] == "message.new":
            seqs.append(frame["message"]["seq"])
    assert seqs == [2, 3, 4]
    await c.disconnect()
