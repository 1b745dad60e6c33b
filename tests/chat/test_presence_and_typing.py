"""Presence across tabs and dead connections; typing that expires by itself."""

from __future__ import annotations

import time

import pytest

from chat import presence

from .conftest import connect, drain, receive_presence_of, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_second_tab_closing_does_not_take_the_user_offline(buyer, creator, order):
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c1, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await receive_presence_of(b, creator.pk, online=True)
    c2, hello = await connect(f"/ws/orders/{order.pk}/", user=creator)
    assert sorted(p["user_id"] for p in hello["online"]) == sorted([buyer.pk, creator.pk])
    await c2.disconnect()
    assert not [
        f for f in await drain(b, timeout=0.5) if f["type"] == "presence" and not f["online"]
    ]
    await c1.disconnect()
    frame = await receive_presence_of(b, creator.pk, online=False)
    assert frame["role"] == "creator"
    await b.disconnect()


async def test_a_connection_that_died_silently_drops_out_when_its_entry_goes_stale(
    buyer, creator, order, settings
):
    settings.LIVE_HEARTBEAT_SECONDS = 0.3
    room = f"order.{order.pk}"
    # What a killed server process leaves behind: an entry nobody refreshes any more.
    await presence.store().put(room, f"{creator.pk}|creator|dead-channel", time.time() + 0.5)
    b, hello = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    assert creator.pk in [p["user_id"] for p in hello["online"]]
    frame = await receive_presence_of(b, creator.pk, online=False, timeout=5)
    assert frame["role"] == "creator"
    assert creator.pk not in [p.user_id for p in await presence.online(room=room)]
    await b.disconnect()


async def test_typing_reaches_the_other_party_and_expires_without_a_stop(
    buyer, creator, order, settings
):
    settings.LIVE_TYPING_TTL_SECONDS = 0.5
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await c.send_json_to({"type": "typing", "active": True})
    start = await receive_until(b, "typing")
    assert start == {"type": "typing", "user_id": creator.pk, "active": True}
    stop = await receive_until(b, "typing", timeout=3)
    assert stop == {"type": "typing", "user_id": creator.pk, "active": False}
    # The typist does not hear its own typing.
    assert not [f for f in await drain(c) if f["type"] == "typing"]
    await b.disconnect()
    await c.disconnect()


async def test_sending_a_message_ends_typing(buyer, creator, order):
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await c.send_json_to({"type": "typing", "active": True})
    assert (await receive_until(b, "typing"))["active"] is True
    await c.send_json_to({"type": "message.send", "content": "done", "client_id": "t1"})
    frames = []
    while not any(f["type"] == "typing" for f in frames):
        frames.append(await b.receive_json_from(timeout=5))
    assert frames[-1] == {"type": "typing", "user_id": creator.pk, "active": False}
    await b.disconnect()
    await c.disconnect()
