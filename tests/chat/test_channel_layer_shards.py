"""The layer over two Redis servers (CHANNEL_LAYER_REDIS_URLS): each group lives on the server
its stable hash names (`shard_index`, as channels-redis), subscribed and published there and
nowhere else, and a server that goes down takes only its own groups with it, until it is back
(echo_site/channel_layer.py)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions
from asgiref.sync import async_to_sync

from echo_site.channel_layer import BatchingPubSubChannelLayer, shard_index
from echo_site.redis_shard import ShardBackingOff
from tests.live.servers import RedisServer, running_redis_servers

pytestmark = [pytest.mark.services, pytest.mark.asyncio]

GROUPS = [f"order.{n}" for n in range(1, 41)]


@pytest.fixture
def two_redis() -> Iterator[list[RedisServer]]:
    with running_redis_servers(2) as servers:
        yield servers


async def subscribed_channels(url: str) -> set[str]:
    admin = aioredis.Redis.from_url(url)
    try:
        return {name.decode() for name in await admin.pubsub_channels()}
    finally:
        await admin.aclose()


class Eavesdropper:
    """A plain redis-py client on one server, pattern-subscribed to the layer's prefix: what
    was published on that server, by channel name."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = aioredis.Redis.from_url(url)
        self.pubsub = self.client.pubsub()
        self.prefix = prefix
        self.heard: list[str] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.pubsub.psubscribe(f"{self.prefix}*")
        self.task = asyncio.ensure_future(self.listen())

    async def listen(self) -> None:
        async for message in self.pubsub.listen():
            if message["type"] == "pmessage":
                self.heard.append(message["channel"].decode())

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
        await self.client.aclose()


async def receive_all(layer: BatchingPubSubChannelLayer, channel: str, count: int) -> list[Any]:
    return [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(count)]


async def test_groups_are_subscribed_and_published_only_on_their_own_server(two_redis):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    layer = BatchingPubSubChannelLayer(hosts=[s.url for s in two_redis], prefix=prefix)
    on = {g: shard_index(f"{prefix}__group__{g}", 2) for g in GROUPS}
    assert set(on.values()) == {0, 1}  # the names do land on both servers
    ears = [Eavesdropper(s.url, prefix) for s in two_redis]
    for ear in ears:
        await ear.start()
    try:
        channel = await layer.new_channel()
        for group in GROUPS:
            await layer.group_add(group, channel)

        # Subscribed: each group channel on its own server only; the process's channel too.
        for index, server in enumerate(two_redis):
            expected = {f"{prefix}__group__{g}" for g in GROUPS if on[g] == index}
            if shard_index(channel, 2) == index:
                expected.add(channel)
            assert await subscribed_channels(server.url) == expected

        for n, group in enumerate(GROUPS):
            await layer.group_send(group, {"type": "x", "group": group, "n": n})
        got = await receive_all(layer, channel, len(GROUPS))
        assert sorted(m["n"] for m in got) == list(range(len(GROUPS)))  # each exactly once
        for index in (0, 1):  # each server's own groups stay in the order they were sent
            mine = [m["n"] for m in got if on[m["group"]] == index]
            assert mine == sorted(mine)

        # Published: each message on its group's server, never on the other.
        await asyncio.sleep(0.2)
        for index, ear in enumerate(ears):
            assert sorted(ear.heard) == sorted(
                f"{prefix}__group__{g}" for g in GROUPS if on[g] == index
            )
    finally:
        for ear in ears:
            await ear.close()
        await layer.flush()


async def test_a_server_down_takes_only_its_own_groups_until_it_is_back(two_redis, settings):
    settings.BROADCAST_TIMEOUT_SECONDS = 1
    settings.BROADCAST_BACKOFF_SECONDS = 0.5
    prefix = f"t{uuid.uuid4().hex[:8]}"
    layer = BatchingPubSubChannelLayer(hosts=[s.url for s in two_redis], prefix=prefix)
    on = {g: shard_index(f"{prefix}__group__{g}", 2) for g in GROUPS}
    # Server 1 goes down: the receiving channel itself must live on server 0, so that what is
    # observed is the groups, not the process's channel.
    channels = [await layer.new_channel()]
    while shard_index(channels[-1], 2) != 0:
        channels.append(await layer.new_channel())
    channel = channels[-1]
    staying = [g for g in GROUPS if on[g] == 0]
    going = [g for g in GROUPS if on[g] == 1]
    assert staying and going
    try:
        for group in GROUPS:
            await layer.group_add(group, channel)

        two_redis[1].stop()

        # The other server's groups go on as before, in order, nothing missing.
        for n, group in enumerate(staying):
            await layer.group_send(group, {"type": "x", "group": group, "n": n})
        got = await receive_all(layer, channel, len(staying))
        assert [(m["group"], m["n"]) for m in got] == [(g, n) for n, g in enumerate(staying)]
        # The stopped server's groups fail to publish (the caller hears it); after the first
        # failure they fail at once, for the backoff, while the other server's still go out.
        with pytest.raises((redis.exceptions.ConnectionError, OSError, TimeoutError)):
            await layer.group_send(going[0], {"type": "x", "group": going[0], "n": -1})
        assert layer.unreachable_groups(GROUPS) == going
        started = asyncio.get_running_loop().time()
        for group in going[1:4]:
            with pytest.raises(ShardBackingOff):
                await layer.group_send(group, {"type": "x", "group": group, "n": -1})
        assert asyncio.get_running_loop().time() - started < 0.5
        await layer.group_send(staying[0], {"type": "x", "group": staying[0], "n": 99})
        assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 99
        await asyncio.sleep(settings.BROADCAST_BACKOFF_SECONDS)

        two_redis[1].start()  # same port, empty: the layer resubscribes by itself

        receiving = asyncio.ensure_future(layer.receive(channel))
        for _ in range(100):
            with contextlib.suppress(redis.exceptions.ConnectionError, OSError):
                await layer.group_send(going[0], {"type": "x", "group": going[0], "n": 0})
            await asyncio.wait([receiving], timeout=0.1)
            if receiving.done():
                break
        else:
            receiving.cancel()
            pytest.fail("the restarted server's groups were never heard again")
        assert receiving.result()["group"] == going[0]
        await asyncio.sleep(0.3)  # any duplicate of the probe arrives meanwhile
        while True:  # drop the probe's repeats (sent until one was heard)
            try:
                extra = layer._get_layer().channels[channel].get_nowait()
            except asyncio.QueueEmpty:
                break
            assert layer.deserialize(extra)["group"] == going[0]

        # Every group is heard again, each on its own server.
        for n, group in enumerate(GROUPS):
            await layer.group_send(group, {"type": "x", "group": group, "n": n})
        got = await receive_all(layer, channel, len(GROUPS))
        assert sorted((m["group"], m["n"]) for m in got) == sorted(
            (g, n) for n, g in enumerate(GROUPS)
        )
        expected = {f"{prefix}__group__{g}" for g in going} | set(channels[:-1])
        assert await subscribed_channels(two_redis[1].url) == expected
    finally:
        await layer.flush()


async def test_a_servers_backoff_holds_across_event_loops_and_spares_the_other(two_redis, settings):
    """A worker or a management command sends each broadcast from an event loop of its own
    (async_to_sync): a server that just failed is not tried again from the next loop, while
    the other server's groups still go out."""
    settings.BROADCAST_BACKOFF_SECONDS = 30
    prefix = f"t{uuid.uuid4().hex[:8]}"
    layer = BatchingPubSubChannelLayer(hosts=[s.url for s in two_redis], prefix=prefix)
    on = {g: shard_index(f"{prefix}__group__{g}", 2) for g in GROUPS}
    down = next(g for g in GROUPS if on[g] == 1)
    up = next(g for g in GROUPS if on[g] == 0)
    ear = Eavesdropper(two_redis[0].url, prefix)
    await ear.start()
    try:
        two_redis[1].stop()

        def send_from_a_loop_of_its_own(group: str) -> None:
            async_to_sync(layer.group_send)(group, {"type": "x"})

        with pytest.raises((redis.exceptions.ConnectionError, OSError)) as first:
            await asyncio.to_thread(send_from_a_loop_of_its_own, down)
        assert not isinstance(first.value, ShardBackingOff)  # tried, and refused by the OS
        assert layer.unreachable_groups(GROUPS) == [g for g in GROUPS if on[g] == 1]
        with pytest.raises(ShardBackingOff):  # another loop: not tried again
            await asyncio.to_thread(send_from_a_loop_of_its_own, down)
        await asyncio.to_thread(send_from_a_loop_of_its_own, up)
        await asyncio.sleep(0.2)
        assert ear.heard == [f"{prefix}__group__{up}"]
    finally:
        await ear.close()
        await layer.flush()
