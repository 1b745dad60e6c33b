"""A socket whose task ends abnormally (a handler raised, the server cancelled it) frees its
per-user slot, its presence and its heartbeat membership at once, not when its entry goes
stale."""

from __future__ import annotations

import asyncio

import pytest

from chat import presence
from chat.heartbeat import heartbeat
from chat.rooms.order import OrderRoomConsumer

from .conftest import communicator, connect, receive_presence_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def crash(comm) -> None:
    await comm.send_json_to({"type": "ping"})
    with pytest.raises(RuntimeError, match="handler bug"):
        while True:  # frames already on their way (presence), then the crash
            await comm.receive_output(timeout=5)


async def cancel(comm) -> None:
    comm.future.cancel()
    with pytest.raises(asyncio.CancelledError):
        await comm.future


@pytest.mark.parametrize("end", [crash, cancel], ids=["handler-raised", "task-cancelled"])
async def test_an_abnormal_end_frees_the_slot_and_presence_at_once(
    buyer, creator, order, settings, monkeypatch, end
):
    settings.LIVE_MAX_SOCKETS_PER_USER = 1
    settings.LIVE_PRESENCE_TTL_SECONDS = 600  # nothing goes stale during the test

    async def broken_ping(self, content):
        raise RuntimeError("handler bug")

    monkeypatch.setattr(OrderRoomConsumer, "on_ping", broken_ping)
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await receive_presence_of(c, buyer.pk, online=True)
    await end(b)

    # The creator hears the buyer leave, and the buyer's one slot is free again.
    await receive_presence_of(c, buyer.pk, online=False, timeout=5)
    assert buyer.pk not in [p.user_id for p in await presence.online(room=f"order.{order.pk}")]
    assert len(heartbeat().members) == 1  # only the creator's socket is still beaten
    again = communicator(f"/ws/orders/{order.pk}/", user=buyer)
    connected, _ = await again.connect(timeout=5)
    assert connected
    assert (await again.receive_json_from(timeout=5))["type"] == "hello"
    await again.disconnect()
    await c.disconnect()
