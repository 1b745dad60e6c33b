"""channels-redis's pub/sub layer, with publishes batched into pipelines.

`RedisPubSubChannelLayer` publishes one message per round trip under a lock that every publish
of the process shares: each `group_send` waits for the previous one's reply, and each reply waits
for a turn of the event loop. Under load (a few hundred messages/s, three publishes per chat
message) the publishes queued behind each other for seconds and broadcasts timed out
(docs/benchmarks.md). Here every publish joins a queue; one task per shard sends everything
queued so far as one pipeline (one round trip), then the next batch. Order is kept: messages are
published in the order `group_send` was called. Subscribing and receiving are channels-redis's.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close
from django.conf import settings

# Upper bound on one pipeline: a burst is split so that no reply grows without limit.
MAX_BATCH = 512


class BatchingShardConnection(RedisSingleShardConnection):  # type: ignore[misc]
    """One Redis server of the layer; publishes go out in pipelines, in call order."""

    def __init__(self, host: Any, channel_layer: Any) -> None:
        super().__init__(host, channel_layer)
        # (channel, payload, future, settles): the future hears of a failure of the item's
        # pipeline, and of success only from the item that `settles` it (the last of a send).
        self._pending: deque[tuple[str, bytes, asyncio.Future[None], bool]] = deque()
        self._publisher: asyncio.Task[None] | None = None

    async def publish(self, channel: str, message: bytes) -> None:
        await self.enqueue(channel, message)

    def enqueue(self, channel: str, message: bytes) -> asyncio.Future[None]:
        """Queue a publish; the future settles when its pipeline has been answered."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.enqueue_with(channel, message, done, settles=True)
        return done

    def enqueue_with(
        self, channel: str, message: bytes, done: asyncio.Future[None], *, settles: bool
    ) -> None:
        self._pending.append((channel, message, done, settles))
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.create_task(self._publish_pending())

    async def _publish_pending(self) -> None:
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(len(self._pending), MAX_BATCH))]
            try:
                self._ensure_redis()
                pipe = self._redis.pipeline(transaction=False)
                for channel, message, _, _ in batch:
                    pipe.publish(channel, message)
                # A Redis that accepts the connection and never answers must not hold every
                # later broadcast: the batch fails, its callers log it, the next batch goes on.
                async with asyncio.timeout(settings.BROADCAST_TIMEOUT_SECONDS):
                    await pipe.execute()
            except Exception as exc:  # every waiter hears of the failure; the next batch goes on
                for _, _, done, _ in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            except BaseException:
                for _, _, done, _ in batch:
                    done.cancel()
                raise
            for _, _, done, settles in batch:
                if settles and not done.done():
                    done.set_result(None)

    async def flush(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            self._publisher = None
        while self._pending:
            _, _, done, _ = self._pending.popleft()
            if not done.done():
                done.cancel()
        await super().flush()


class BatchingLoopLayer(RedisPubSubLoopLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [
            BatchingShardConnection(shard.host, self)
            for shard in self._shards  # type: ignore[has-type]
        ]

    def publish_nowait(self, sends: list[tuple[str, dict[str, Any]]]) -> asyncio.Future[Any]:
        """Queue `group_send` of each (group, message) without waiting: no task, one future
        for all of them, settled when every pipeline they went out in has been answered (with
        the first failure, if one failed)."""
        loop = asyncio.get_running_loop()
        last: dict[BatchingShardConnection, tuple[str, bytes]] = {}
        futures: dict[BatchingShardConnection, asyncio.Future[None]] = {}
        for group, message in sends:
            channel = self._get_group_channel_name(group)
            shard = self._get_shard(channel)
            if shard in last:
                shard.enqueue_with(*last[shard], futures[shard], settles=False)
            else:
                futures[shard] = loop.create_future()
            last[shard] = (channel, self.channel_layer.serialize(message))
        for shard, (channel, payload) in last.items():
            shard.enqueue_with(channel, payload, futures[shard], settles=True)
        if len(futures) == 1:
            return next(iter(futures.values()))
        return asyncio.gather(*futures.values())


class BatchingPubSubChannelLayer(RedisPubSubChannelLayer):  # type: ignore[misc]
    """RedisPubSubChannelLayer whose per-loop layers publish in pipelines."""

    def publish_nowait(self, sends: list[tuple[str, dict[str, Any]]]) -> asyncio.Future[Any]:
        return self._get_layer().publish_nowait(sends)

    def _get_layer(self) -> BatchingLoopLayer:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]  # type: ignore[no-any-return]
        except KeyError:
            layer = BatchingLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer


def queued_for(layer: Any, channel: str) -> int:
    """How many messages wait in this process for `channel` to be received (0 if the layer
    cannot tell). Channels' in-memory layer and channels-redis's pub/sub layer both keep one
    asyncio.Queue per channel of the process."""
    try:
        loop_layer = layer._get_layer() if hasattr(layer, "_get_layer") else layer
        queue = loop_layer.channels.get(channel)
        return int(queue.qsize()) if queue is not None else 0
    except Exception:  # noqa: BLE001 - another layer: assume nothing is queued
        return 0
