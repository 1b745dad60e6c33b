"""The batching pub/sub layer: publishes go out in pipelines, in call order, and failures reach
every caller (echo_site/channel_layer.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.exceptions
from django.conf import settings

from echo_site.channel_layer import (
    BatchingPubSubChannelLayer,
    BatchingShardConnection,
    queued_for,
)

pytestmark = [pytest.mark.services, pytest.mark.asyncio]


def fresh_layer(url: str | None = None) -> BatchingPubSubChannelLayer:
    return BatchingPubSubChannelLayer(
        hosts=[url or settings.REDIS_URL], prefix=f"t{uuid.uuid4().hex[:8]}"
    )


async def test_a_burst_arrives_in_call_order_in_few_round_trips(monkeypatch):
    pipelines = 0
    original = BatchingShardConnection._publish_pending

    async def counting(self):
        self._ensure_redis()
        real_pipeline = self._redis.pipeline

        def pipeline(*args, **kwargs):
            nonlocal pipelines
            pipelines += 1
            return real_pipeline(*args, **kwargs)

        self._redis.pipeline = pipeline
        try:
            await original(self)
        finally:
            self._redis.pipeline = real_pipeline

    monkeypatch.setattr(BatchingShardConnection, "_publish_pending", counting)
    layer = fresh_layer()
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await asyncio.sleep(0.1)  # the subscription is live

    await asyncio.gather(*(layer.group_send("room", {"type": "x", "n": n}) for n in range(500)))
    received = [(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(500)]

    assert received == list(range(500))
    assert pipelines <= 20, f"{pipelines} pipelines for 500 publishes"
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


async def test_publishing_goes_on_after_a_failed_batch(monkeypatch):
    layer = fresh_layer()
    channel = await layer.new_channel()
    await layer.group_add("room", channel)
    await asyncio.sleep(0.1)
    shard = layer._get_layer()._shards[0]
    shard._ensure_redis()
    real_pipeline = shard._redis.pipeline
    calls = 0

    def failing_once(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("connection reset")
        return real_pipeline(*args, **kwargs)

    monkeypatch.setattr(shard._redis, "pipeline", failing_once)
    with pytest.raises(ConnectionError):
        await layer.group_send("room", {"type": "x", "n": 1})
    await layer.group_send("room", {"type": "x", "n": 2})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 2
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
    settings,
):
    """A server that accepts the connection and never replies must not hold the publisher
    (and every later broadcast) forever."""
    settings.BROADCAST_TIMEOUT_SECONDS = 0.5

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 20)
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    layer = fresh_layer(f"redis://127.0.0.1:{port}")
    try:
        started = asyncio.get_running_loop().time()
        done = layer.publish_nowait([("a", {"type": "x"})])
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(done, 10)
        assert asyncio.get_running_loop().time() - started < 3
    finally:
        server.close()
        await layer.flush()
