"""ECHO's layer and channels-redis's RedisPubSubChannelLayer speak the same protocol: a process on
either hears the other (same group channel names, same msgpack payloads, same shard for a name);
the layer's per-loop state goes away with its loop (echo_site/channel_layer.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash
from django.conf import settings

from echo_site import redis_shard
from echo_site.channel_layer import BatchingPubSubChannelLayer, shard_index


def test_a_name_goes_to_the_same_shard_as_with_channels_redis():
    # channels-redis's private helper is the reference here only: the layer does not import it.
    names = [
        "asgi__group__order-1",
        "asgispecific.abc",
        "ünï",
        *(uuid.uuid4().hex for _ in range(200)),
    ]
    for ring in (1, 2, 3, 5, 8):
        assert [shard_index(n, ring) for n in names] == [_consistent_hash(n, ring) for n in names]


def test_messages_are_serialized_as_channels_redis_does():
    message = {"a": True, "b": None, "c": {"d": []}, "e": "ünï", "n": 2**40}
    ours = BatchingPubSubChannelLayer(hosts=["redis://127.0.0.1:6379"])
    theirs = RedisPubSubChannelLayer(hosts=["redis://127.0.0.1:6379"])
    assert ours.serialize(message) == theirs.serialize(message)
    assert ours.deserialize(theirs.serialize(message)) == message


@pytest.mark.services
@pytest.mark.asyncio
async def test_a_channels_redis_process_and_ours_hear_each_other():
    prefix = f"t{uuid.uuid4().hex[:8]}"
    ours = BatchingPubSubChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix)
    theirs = RedisPubSubChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix)
    try:
        mine = await ours.new_channel()
        their = await theirs.new_channel()
        await ours.group_add("room", mine)
        await theirs.group_add("room", their)
        await asyncio.sleep(0.2)  # channels-redis does not wait for its SUBSCRIBE's reply

        await theirs.group_send("room", {"type": "from.theirs", "text": "ünï"})
        await ours.group_send("room", {"type": "from.ours", "n": 1})
        heard_by_mine = [await asyncio.wait_for(ours.receive(mine), 5) for _ in range(2)]
        heard_by_theirs = [await asyncio.wait_for(theirs.receive(their), 5) for _ in range(2)]
        expected = [{"type": "from.theirs", "text": "ünï"}, {"type": "from.ours", "n": 1}]
        assert heard_by_mine == expected
        assert heard_by_theirs == expected

        await ours.send(their, {"type": "direct", "to": "theirs"})
        await theirs.send(mine, {"type": "direct", "to": "ours"})
        assert await asyncio.wait_for(theirs.receive(their), 5) == {
            "type": "direct",
            "to": "theirs",
        }
        assert await asyncio.wait_for(ours.receive(mine), 5) == {"type": "direct", "to": "ours"}
    finally:
        await ours.flush()
        await theirs.flush()


@pytest.mark.services
@pytest.mark.asyncio
async def test_a_group_joined_is_heard_at_once():
    """group_add returns after Redis confirmed the SUBSCRIBE: no sleep needed before a send."""
    layer = BatchingPubSubChannelLayer(
        hosts=[settings.REDIS_URL], prefix=f"t{uuid.uuid4().hex[:8]}"
    )
    try:
        for n in range(20):
            channel = await layer.new_channel()
            await layer.group_add(f"room{n}", channel)
            await layer.group_send(f"room{n}", {"type": "x", "n": n})
            assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == n
    finally:
        await layer.flush()


@pytest.mark.services
def test_the_state_of_a_closed_loop_is_dropped():
    layer = BatchingPubSubChannelLayer(
        hosts=[settings.REDIS_URL], prefix=f"t{uuid.uuid4().hex[:8]}"
    )

    async def round_trip() -> dict:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "x"})
        assert len(layer._layers) == 1  # this loop's
        return await asyncio.wait_for(layer.receive(channel), 5)

    for _ in range(3):
        assert async_to_sync(round_trip)() == {"type": "x"}  # a new loop each time
    assert len(layer._layers) == 0


@pytest.mark.services
def test_a_loop_shut_down_with_a_receive_pending_leaves_no_task_behind():
    """asyncio.run cancels the pending receive, whose clean-up unsubscribes: that must not
    start a reader that outlives the loop (it would be logged as destroyed while pending)."""
    layer = BatchingPubSubChannelLayer(
        hosts=[settings.REDIS_URL], prefix=f"t{uuid.uuid4().hex[:8]}"
    )

    async def consumer_left_running() -> asyncio.AbstractEventLoop:
        channel = await layer.new_channel()
        await layer.group_add("room", channel)
        asyncio.ensure_future(layer.receive(channel))  # cancelled by asyncio.run's shutdown
        await asyncio.sleep(0.05)
        return asyncio.get_running_loop()

    loop = asyncio.run(consumer_left_running())
    assert loop.is_closed()
    assert [t for t in redis_shard._tasks if t.get_loop() is loop] == []
