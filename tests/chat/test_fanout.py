"""The per-process fan-out (chat/fanout.py): one layer channel per process, one copy of each
event per process, handed to every local member in order; a busy socket's events wait for it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer
from django.conf import settings

from chat.fanout import Fanout
from echo_site.channel_layer import BatchingPubSubChannelLayer

from .conftest import connect, drain, receive_until

pytestmark = pytest.mark.asyncio


class Recorder:
    def __init__(self) -> None:
        self.got: list[Any] = []

    async def fanout_receive(self, message: dict[str, Any]) -> None:
        self.got.append(message["n"])


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_each_event_reaches_every_local_member_of_its_group_once_in_order():
    layer = InMemoryChannelLayer(capacity=1000)
    fanout = Fanout(layer)
    a, b, other = Recorder(), Recorder(), Recorder()
    await fanout.join("room.1", a)
    await fanout.join("room.1", b)
    await fanout.join("room.2", other)
    assert list(layer.groups["room.1"]) == [fanout.channel]  # one channel for the process
    for n in range(50):
        await layer.group_send("room.1", {"type": "live.event", "group": "room.1", "n": n})
    await layer.group_send("room.2", {"type": "live.event", "group": "room.2", "n": "x"})
    await wait_for(lambda: len(a.got) == 50 and len(b.got) == 50 and other.got)
    assert a.got == b.got == list(range(50))
    assert other.got == ["x"]


async def test_the_last_member_out_takes_the_process_out_of_the_group():
    layer = InMemoryChannelLayer()
    fanout = Fanout(layer)
    a, b = Recorder(), Recorder()
    await fanout.join("room.1", a)
    await fanout.join("room.1", b)
    await fanout.leave("room.1", a)
    assert fanout.channel in layer.groups.get("room.1", {})
    await fanout.leave("room.1", b)
    assert fanout.channel not in layer.groups.get("room.1", {})
    # Joining again subscribes again.
    await fanout.join("room.1", a)
    await layer.group_send("room.1", {"type": "live.event", "group": "room.1", "n": 1})
    await wait_for(lambda: a.got == [1])


async def test_a_socket_torn_down_without_disconnect_still_leaves():
    layer = InMemoryChannelLayer()
    fanout = Fanout(layer)
    a = Recorder()
    await fanout.join("room.1", a)
    fanout.leave_later("room.1", a)  # from a finally block that cannot wait
    await wait_for(lambda: fanout.channel not in layer.groups.get("room.1", {}))
    assert "room.1" not in fanout.groups


async def test_a_join_during_the_last_leave_keeps_the_subscription():
    class SlowLayer(InMemoryChannelLayer):
        async def group_add(self, group: str, channel: str) -> None:
            await asyncio.sleep(0.05)
            await super().group_add(group, channel)

    layer = SlowLayer()
    fanout = Fanout(layer)
    a, b = Recorder(), Recorder()
    joining = asyncio.create_task(fanout.join("room.1", a))
    await asyncio.sleep(0)
    await fanout.leave("room.1", a)  # leaves while its join is still on the way
    await fanout.join("room.1", b)
    await joining
    await layer.group_send("room.1", {"type": "live.event", "group": "room.1", "n": 7})
    await wait_for(lambda: b.got == [7])


async def test_socket_ids_differ_between_processes_and_sockets():
    layer = InMemoryChannelLayer()
    first, second = Fanout(layer), Fanout(layer)
    ids = {first.socket_id(), first.socket_id(), second.socket_id()}
    assert len(ids) == 3


@pytest.mark.services
async def test_over_redis_one_process_gets_one_copy_per_event_whatever_its_sockets():
    layer = BatchingPubSubChannelLayer(
        hosts=[settings.REDIS_URL], prefix=f"t{uuid.uuid4().hex[:8]}"
    )
    try:
        fanout = Fanout(layer)
        members = [Recorder() for _ in range(20)]
        for member in members:
            await fanout.join("room.9", member)
        await asyncio.sleep(0.1)
        await layer.publish_nowait(
            [("room.9", {"type": "live.event", "group": "room.9", "n": n}) for n in range(30)]
        )
        await wait_for(lambda: all(len(m.got) == 30 for m in members))
        assert all(m.got == list(range(30)) for m in members)
        assert fanout.backlog() == 0  # nothing left over: one copy each, not one per socket
    finally:
        await layer.flush()


@pytest.mark.django_db(transaction=True)
async def test_events_for_a_busy_socket_wait_and_arrive_in_order(
    buyer, creator, order, monkeypatch
):
    """While the creator's socket is inside a database call, events for it are queued behind
    it (not dropped, not reordered) and the process's other sockets are not held up."""
    from channels.db import database_sync_to_async

    from chat.rooms.order import OrderRoomConsumer
    from orders import services

    creator_comm, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    buyer_comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await drain(creator_comm)
    release = asyncio.Event()
    real_on_read = OrderRoomConsumer.on_read

    async def slow_read(self: OrderRoomConsumer, content: dict[str, Any]) -> None:
        await release.wait()  # the creator's socket is busy with this frame
        await real_on_read(self, content)

    monkeypatch.setattr(OrderRoomConsumer, "on_read", slow_read)
    await creator_comm.send_json_to({"type": "read", "seq": 0})
    await asyncio.sleep(0.05)
    for n in range(3):
        await database_sync_to_async(services.message_post)(
            order=order, sender=buyer, content=f"m{n}"
        )
    # The buyer's socket is free: its copies arrive while the creator's wait.
    for n in range(3):
        frame = await receive_until(buyer_comm, "message.new")
        assert frame["message"]["content"] == f"m{n}"
    assert await creator_comm.receive_nothing(timeout=0.2)
    release.set()
    got = [(await receive_until(creator_comm, "message.new"))["message"] for _ in range(3)]
    assert [m["content"] for m in got] == ["m0", "m1", "m2"]
    assert [m["seq"] for m in got] == sorted(m["seq"] for m in got)
    await creator_comm.disconnect()
    await buyer_comm.disconnect()


async def test_a_burst_on_the_development_layer_is_not_dropped():
    """The in-memory layer (embedded defaults) carries all of a process's events on one channel:
    its configured capacity must take a burst that the default of 100 would silently drop."""
    layer = InMemoryChannelLayer(**settings.IN_MEMORY_CHANNEL_LAYER["CONFIG"])
    fanout = Fanout(layer)
    member = Recorder()
    await fanout.join("room.1", member)
    await asyncio.gather(
        *(
            layer.group_send("room.1", {"type": "live.event", "group": "room.1", "n": n})
            for n in range(500)
        )
    )
    await wait_for(lambda: len(member.got) == 500)
    assert sorted(member.got) == list(range(500))
