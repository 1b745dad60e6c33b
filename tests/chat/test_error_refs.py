"""Every error frame caused by a client frame names it: its `ref`, else its `client_id`."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from .conftest import connect, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def errors_for(comm, frames: list[dict]) -> list[dict]:
    for frame in frames:
        await comm.send_json_to(frame)
    errors = []
    while len(errors) < len(frames):
        frame = await comm.receive_json_from(timeout=5)
        if frame["type"] == "error":
            errors.append(frame)
    return errors


async def test_throttled_carries_the_client_id_of_the_dropped_send(buyer, order, settings):
    settings.LIVE_FRAMES_PER_WINDOW = 2
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await comm.send_json_to({"type": "ping"})
    await comm.send_json_to({"type": "ping"})
    await comm.send_json_to({"type": "message.send", "content": "dropped", "client_id": "c-3"})
    frames = []
    while not frames or frames[-1]["type"] != "error":
        frame = await comm.receive_json_from(timeout=5)
        if frame["type"] != "presence":
            frames.append(frame)
    assert [f["type"] for f in frames] == ["pong", "pong", "error"]
    error = frames[-1]
    assert (error["code"], error["ref"]) == ("throttled", "c-3")
    await comm.disconnect()


async def test_rate_limited_carries_the_client_id(buyer, order, settings):
    settings.LIVE_MESSAGES_PER_WINDOW = 1
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await comm.send_json_to({"type": "message.send", "content": "one", "client_id": "c-1"})
    await receive_until(comm, "message.ack")
    await comm.send_json_to({"type": "message.send", "content": "two", "client_id": "c-2"})
    error = await receive_until(comm, "error")
    assert (error["code"], error["ref"]) == ("rate_limited", "c-2")
    await comm.disconnect()


async def test_every_kind_of_refusal_echoes_ref_and_ref_wins_over_client_id(
    make_order, buyer, admin_user
):
    closed = await database_sync_to_async(make_order)("CANCELLED")
    comm, _ = await connect(f"/ws/orders/{closed.pk}/", user=buyer)
    errors = await errors_for(
        comm,
        [
            {"type": "dance", "client_id": "u-1"},
            {"type": "message.send", "content": "", "client_id": "i-1"},
            {"type": "message.send", "content": 5, "client_id": "i-2"},
            {"type": "message.send", "content": "late", "client_id": "o-1"},
            {"type": "message.send", "content": "late", "client_id": "o-2", "ref": 77},
            {"type": "typing", "active": True, "client_id": "t-1"},
            {"type": "read", "seq": -1, "ref": "r-1"},
            {"type": "sync", "after_seq": "x", "ref": "s-1"},
        ],
    )
    assert [(e["code"], e["ref"]) for e in errors] == [
        ("unknown_type", "u-1"),
        ("invalid", "i-1"),
        ("invalid", "i-2"),
        ("order_closed", "o-1"),
        ("order_closed", 77),
        ("order_closed", "t-1"),
        ("invalid", "r-1"),
        ("invalid", "s-1"),
    ]
    await comm.disconnect()

    observer, _ = await connect(f"/ws/orders/{closed.pk}/", user=admin_user)
    errors = await errors_for(
        observer,
        [
            {"type": "message.send", "content": "hi", "client_id": "a-1"},
            {"type": "typing", "active": True, "ref": "a-2"},
        ],
    )
    assert [(e["code"], e["ref"]) for e in errors] == [
        ("not_a_party", "a-1"),
        ("permission_denied", "a-2"),
    ]
    await observer.disconnect()
