"""The batching pub/sub layer: publishes go out in pipelines, in call order, failures reach
every caller, and a lost subscription comes back (echo_site/channel_layer.py,
echo_site/redis_shard.py)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
import redis.asyncio as aioredis
import redis.exceptions
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from echo_site.channel_layer import BatchingPubSubChannelLayer, queued_for
from echo_site.redis_shard import ShardBackingOff, ShardConnection

pytestmark = [pytest.mark.services, pytest.mark.asyncio]


def fresh_layer(url: str | None = None) -> BatchingPubSubChannelLayer:
    return BatchingPubSubChannelLayer(
        hosts=[url or settings.REDIS_URL], prefix=f"t{uuid.uuid4().hex[:8]}"
    )


async def test_a_burst_arrives_in_call_order_in_few_round_trips(monkeypatch):
    batches = 0
    real_send = ShardConnection.send_batch

    def counting(self, batch):
        nonlocal batches
        batches += 1
        return real_send(self, batch)

    monkeypatch.setattr(ShardConnection, "send_batch", counting)
    layer = fresh_layer()
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await asyncio.sleep(0.1)  # the subscription is live

    await asyncio.gather(*(layer.group_send("room", {"type": "x", "n": n}) for n in range(500)))
    received = [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(500)]

    assert received == list(range(500))
    assert 1 <= batches <= 20, f"{batches} round trips for 500 publishes"
    await layer.flush()


async def test_every_waiter_hears_that_redis_is_unreachable():
    layer = fresh_layer("redis://127.0.0.1:1")  # nothing listens on port 1
    results = await asyncio.wait_for(
        asyncio.gather(
            *(layer.group_send("room", {"type": "x", "n": n}) for n in range(5)),
            return_exceptions=True,
        ),
        10,
    )
    assert len(results) == 5
    assert all(isinstance(r, redis.exceptions.ConnectionError) for r in results), results
    await layer.flush()


async def test_publishing_backs_off_after_a_failed_batch_then_goes_on(monkeypatch, settings):
    settings.BROADCAST_BACKOFF_SECONDS = 0.3
    layer = fresh_layer()
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await asyncio.sleep(0.1)
    real_send = ShardConnection.send_batch
    calls = 0

    async def failing_once(self, batch):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise redis.exceptions.ConnectionError("connection reset")
        await real_send(self, batch)

    monkeypatch.setattr(ShardConnection, "send_batch", failing_once)
    with pytest.raises(redis.exceptions.ConnectionError):
        await layer.group_send("room", {"type": "x", "n": 1})
    assert layer.unreachable_groups(["room"]) == ["room"]
    # Within the backoff a publish fails at once, without trying Redis again.
    with pytest.raises(ShardBackingOff):
        await layer.group_send("room", {"type": "x", "n": 2})
    assert calls == 1
    await asyncio.sleep(0.35)
    await layer.group_send("room", {"type": "x", "n": 3})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 3
    assert layer.unreachable_groups(["room"]) == []
    await layer.flush()


async def kill_clients(url: str, kind: str) -> None:
    """Redis drops the layer's connections of one kind (normal: the publisher; pubsub: the
    subscriber), as after a timeout or CLIENT KILL."""
    admin = aioredis.Redis.from_url(url)
    try:
        await admin.execute_command("CLIENT", "KILL", "TYPE", kind, "SKIPME", "yes")
    finally:
        await admin.aclose()


async def test_a_publish_connection_redis_dropped_is_replaced_without_failing_a_send(
    private_redis,
):
    layer = fresh_layer(private_redis.url)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.group_send("room", {"type": "x", "n": 1})
    await kill_clients(private_redis.url, "normal")
    await asyncio.sleep(0.1)  # Redis has closed it; the layer has not written since
    await layer.group_send("room", {"type": "x", "n": 2})  # the pool notices and reconnects
    assert [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(2)] == [1, 2]
    await layer.flush()


async def test_a_dropped_subscription_is_restored_in_the_background(private_redis):
    layer = fresh_layer(private_redis.url)
    channels = [await layer.new_channel() for _ in range(2)]
    await layer.group_add("room", channels[0])
    await layer.group_add("other", channels[1])
    await kill_clients(private_redis.url, "pubsub")
    await asyncio.sleep(0.5)  # reconnected and resubscribed meanwhile, nobody asked
    await layer.group_send("room", {"type": "x", "n": 1})
    await layer.group_send("other", {"type": "x", "n": 2})
    await layer.send(channels[0], {"type": "x", "n": 3})  # its own channel, too
    assert (await asyncio.wait_for(layer.receive(channels[0]), 5))["n"] == 1
    assert (await asyncio.wait_for(layer.receive(channels[1]), 5))["n"] == 2
    assert (await asyncio.wait_for(layer.receive(channels[0]), 5))["n"] == 3
    await layer.flush()


async def test_after_a_redis_restart_the_layer_hears_its_groups_again(private_redis, caplog):
    layer = fresh_layer(private_redis.url)
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await layer.group_add("gone", channel)
    private_redis.stop()
    await asyncio.sleep(0.3)  # retries fail meanwhile, with backoff
    await layer.group_discard("gone", channel)  # while Redis is away: no error
    private_redis.start()
    # One receive throughout: channels-redis drops a channel whose receive is cancelled.
    receiving = asyncio.ensure_future(layer.receive(channel))
    message = await heard_in_room(
        layer, receiving, "the layer never heard its group again after Redis came back"
    )
    assert message["n"] == 1
    shard = layer._get_layer().shards[0]
    assert shard.subscribed_to == {channel, layer._get_layer().group_channel("room")}
    assert "subscription still lost" in caplog.text
    await layer.flush()


@pytest.fixture
async def silent_redis():
    """The URL of a server that accepts connections and never answers."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 20)
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    yield f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()


async def test_a_redis_that_never_answers_a_subscribe_holds_a_join_once_for_the_timeout(
    settings, silent_redis
):
    settings.BROADCAST_TIMEOUT_SECONDS = 0.5

    layer = fresh_layer(silent_redis)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        channel = await layer.new_channel()  # gives up after the timeout, without failing
        assert 0.4 < loop.time() - started < 3
        started = loop.time()
        await layer.group_add("room", channel)  # Redis is known to be away: no second wait
        assert loop.time() - started < 0.2
        shard = layer._get_layer().shards[0]
        assert channel in shard.subscribed_to  # taken along when a subscription succeeds
    finally:
        await layer.flush()


async def test_joins_while_redis_is_down_are_subscribed_once_it_is_back(private_redis):
    layer = fresh_layer(private_redis.url)
    private_redis.stop()
    channel = await layer.new_channel()  # no error: a socket joining now is not closed
    await layer.group_add("room", channel)
    private_redis.start()
    receiving = asyncio.ensure_future(layer.receive(channel))
    message = await heard_in_room(
        layer, receiving, "a group joined during the outage was never subscribed"
    )
    assert message["n"] == 1
    await layer.flush()


async def test_hosts_are_read_by_redis_py_and_what_it_cannot_read_fails_at_start_up():
    with pytest.raises(ImproperlyConfigured, match="Redis URLs"):
        BatchingPubSubChannelLayer(hosts=[{"master_name": "m", "sentinels": [("h", 1)]}])
    with pytest.raises(ImproperlyConfigured, match="Invalid Redis URL"):
        BatchingPubSubChannelLayer(hosts=["redis://127.0.0.1:6379/0?socket_timeout=soon"])
    with pytest.raises(ImproperlyConfigured, match="decode_responses"):
        BatchingPubSubChannelLayer(hosts=["redis://127.0.0.1:6379/0?decode_responses=True"])
    with pytest.raises(ImproperlyConfigured, match="protocol=3"):
        # The subscriber reads RESP2 replies; RESP3 would hand its messages to push handlers.
        BatchingPubSubChannelLayer(hosts=["redis://127.0.0.1:6379/0?protocol=3"])
    with pytest.raises(ImproperlyConfigured, match="capacity"):
        BatchingPubSubChannelLayer(hosts=["redis://127.0.0.1:6379/0"], capacity=5)
    pair = BatchingPubSubChannelLayer(hosts=[("127.0.0.1", 6379)])._get_layer().shards[0]
    assert (pair.pool.connection_kwargs["host"], pair.pool.connection_kwargs["port"]) == (
        "127.0.0.1",
        6379,
    )
    url = "rediss://u:p@example.test:6380/2?ssl_cert_reqs=none&socket_keepalive=true"
    pool = BatchingPubSubChannelLayer(hosts=[url])._get_layer().shards[0].pool
    assert pool.connection_kwargs["ssl_cert_reqs"] == "none"
    assert pool.connection_kwargs["socket_keepalive"] is True
    assert pool.connection_kwargs["db"] == 2


async def test_a_quiet_subscription_outlives_the_urls_socket_timeout():
    # The subscriber's read blocks for as long as nothing is published; a socket_timeout in
    # the URL bounds commands, not that wait (else a quiet room would resubscribe every 0.3 s
    # and miss what is published meanwhile).
    layer = fresh_layer(f"{settings.REDIS_URL}?socket_timeout=0.3")
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await asyncio.sleep(1.0)
    shard = layer._get_layer().shards[0]
    assert shard._reader is not None and not shard._reader.done()
    assert not shard._away
    await layer.group_send("room", {"type": "x", "n": 1})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 1
    await layer.flush()


async def test_queued_for_counts_what_waits_for_a_channel_in_this_process():

    layer = fresh_layer()
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await asyncio.sleep(0.1)
    assert queued_for(layer, channel) == 0
    for n in range(3):
        await layer.group_send("room", {"type": "x", "n": n})
    for _ in range(50):
        if queued_for(layer, channel) == 3:
            break
        await asyncio.sleep(0.02)
    assert queued_for(layer, channel) == 3
    await layer.receive(channel)
    assert queued_for(layer, channel) == 2
    assert queued_for(object(), channel) == 0  # a layer that cannot tell
    await layer.flush()


async def test_publish_nowait_queues_without_waiting_and_each_group_gets_its_own_once():
    layer = fresh_layer()
    channels = [await layer.new_channel() for _ in range(3)]
    for name, channel in zip(["a", "b", "c"], channels, strict=True):
        await layer.group_add(name, channel)
    await asyncio.sleep(0.1)
    sends = [(name, {"type": "x", "to": name, "n": n}) for n in range(10) for name in "abc"]
    done = layer.publish_nowait(sends)
    assert not done.done()  # queued, nothing sent yet
    await asyncio.wait_for(done, 5)
    for name, channel in zip("abc", channels, strict=True):
        got = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(10)]
        assert [(m["to"], m["n"]) for m in got] == [(name, n) for n in range(10)]
        assert queued_for(layer, channel) == 0  # once
    await layer.flush()


async def test_publish_nowait_reports_an_unreachable_redis():
    layer = fresh_layer("redis://127.0.0.1:1")
    done = layer.publish_nowait([("a", {"type": "x"}), ("b", {"type": "x"})])
    with pytest.raises(redis.exceptions.ConnectionError):
        await asyncio.wait_for(done, 10)
    await layer.flush()


async def test_a_redis_that_never_answers_fails_the_batch_after_the_broadcast_timeout(
    settings, silent_redis
):
    """A server that accepts the connection and never replies must not hold the publisher
    (and every later broadcast) forever."""
    settings.BROADCAST_TIMEOUT_SECONDS = 0.5

    layer = fresh_layer(silent_redis)
    try:
        started = asyncio.get_running_loop().time()
        done = layer.publish_nowait([("a", {"type": "x"})])
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(done, 10)
        assert asyncio.get_running_loop().time() - started < 3
    finally:
        await layer.flush()


async def heard_in_room(layer, receiving: asyncio.Future, failure: str) -> dict:
    """Send to "room" until `receiving` (one receive throughout) hears it: the layer resubscribes
    with a backoff of at most RESUBSCRIBE_MAX_DELAY after Redis comes back."""
    for _ in range(100):
        with contextlib.suppress(redis.exceptions.ConnectionError):
            await layer.group_send("room", {"type": "x", "n": 1})
        await asyncio.wait([receiving], timeout=0.1)
        if receiving.done():
            return receiving.result()
    receiving.cancel()
    pytest.fail(failure)
