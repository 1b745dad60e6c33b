"""Gap-free resume: the database is the source of truth, whatever the channel layer drops."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from echo_site import realtime
from orders import services

from .conftest import connect, drain, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def post(order, sender, text):
    message, _ = services.message_post(order=order, sender=sender, content=text)
    return message


async def seqs_until_sync_done(comm) -> list[int]:
    seqs = []
    while True:
        frame = await comm.receive_json_from(timeout=5)
        if frame["type"] == "sync.done":
            return seqs
        if frame["type"] == "message.new":
            seqs.append(frame["message"]["seq"])
        elif frame["type"] == "order.status":
            seqs.append(frame["event"]["seq"])


async def test_connect_with_after_seq_replays_everything_later_in_order(buyer, creator, order):
    for n in range(5):
        await database_sync_to_async(post)(order, buyer, f"m{n}")
    await database_sync_to_async(services.order_move)(
        order=order, actor=buyer, to_status="CANCELLED"
    )
    comm, hello = await connect(f"/ws/orders/{order.pk}/?after_seq=2", user=creator)
    assert hello["last_seq"] == 7
    assert await seqs_until_sync_done(comm) == [3, 4, 5, 6, 7]
    await comm.disconnect()


async def test_sync_frame_replays_after_the_given_seq(buyer, creator, order):
    for n in range(3):
        await database_sync_to_async(post)(order, buyer, f"m{n}")
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await comm.send_json_to({"type": "sync", "after_seq": 0})
    assert await seqs_until_sync_done(comm) == [1, 2, 3, 4]
    await comm.disconnect()


async def test_a_dropped_broadcast_is_filled_from_the_database_before_the_next(
    buyer, creator, order, monkeypatch
):
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    real_send = realtime._send_all

    async def lossy(groups, message):  # the layer loses this one
        return None

    monkeypatch.setattr(realtime, "_send_all", lossy)
    await database_sync_to_async(post)(order, buyer, "lost in the layer")
    monkeypatch.setattr(realtime, "_send_all", real_send)
    await database_sync_to_async(post)(order, buyer, "arrives live")
    first = await receive_until(comm, "message.new")
    second = await receive_until(comm, "message.new")
    assert [first["message"]["content"], second["message"]["content"]] == [
        "lost in the layer",
        "arrives live",
    ]
    assert [first["message"]["seq"], second["message"]["seq"]] == [2, 3]
    assert [f for f in await drain(comm) if f["type"] == "message.new"] == []
    await comm.disconnect()


async def test_a_dropped_broadcast_at_the_tail_is_caught_by_the_heartbeat(
    buyer, creator, order, monkeypatch, settings
):
    settings.LIVE_HEARTBEAT_SECONDS = 0.3
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)

    async def lossy(groups, message):
        return None

    monkeypatch.setattr(realtime, "_send_all", lossy)
    await database_sync_to_async(post)(order, buyer, "only in the database")
    frame = await receive_until(comm, "message.new", timeout=5)
    assert frame["message"]["content"] == "only in the database"
    await comm.disconnect()


async def test_messages_arriving_during_a_replay_come_once_in_order(buyer, creator, order):
    for n in range(30):
        await database_sync_to_async(post)(order, buyer, f"old {n}")
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c = None
    try:
        # Buyer keeps posting while the creator connects with a replay from 0.
        from .conftest import communicator

        c = communicator(f"/ws/orders/{order.pk}/?after_seq=0", user=creator)
        await c.connect(timeout=5)
        for n in range(10):
            await b.send_json_to(
                {"type": "message.send", "content": f"new {n}", "client_id": f"n{n}"}
            )
        seen = []
        while len(seen) < 41:
            frame = await c.receive_json_from(timeout=5)
            if frame["type"] == "message.new":
                seen.append(frame["message"]["seq"])
            elif frame["type"] == "order.status":
                seen.append(frame["event"]["seq"])
        assert seen == list(range(1, 42))
        assert [f for f in await drain(c) if f["type"] == "message.new"] == []
    finally:
        await b.disconnect()
        if c is not None:
            await c.disconnect()
