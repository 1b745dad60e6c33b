"""channels-redis's pub/sub layer, with publishes batched into pipelines, and both directions on
lean connections of its own.

`RedisPubSubChannelLayer` publishes one message per round trip under a lock that every publish
of the process shares: each `group_send` waits for the previous one's reply, and each reply waits
for a turn of the event loop. Under load (a few hundred messages/s, three publishes per chat
message) the publishes queued behind each other for seconds and broadcasts timed out
(docs/benchmarks.md). Here every publish joins a queue; one task per shard sends everything
queued so far as one pipeline (one round trip), then the next batch. Order is kept: messages are
published in the order `group_send` was called. The batch goes out on a connection of its own
that writes the packed commands straight to the socket and lets hiredis parse the replies
(echo_site/redis_wire.py): redis-py's pipeline machinery cost five times as much per batch.
Subscriptions live on one more such connection per shard, and a published message is put in its
channel's queue as soon as it is parsed, instead of being polled for with redis-py's
`get_message`; a lost subscriber connection is reopened and resubscribed in the background.
The layer's bookkeeping (channels, groups, queues, `receive`, the serializer) is channels-redis's.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from echo_site.redis_wire import RedisConnection, pack_command

# Upper bound on one pipeline: a burst is split so that no reply grows without limit.
MAX_BATCH = 512
# After Redis dropped the subscriber connection: first retry, and the longest wait between two.
RESUBSCRIBE_FIRST_DELAY = 0.05
RESUBSCRIBE_MAX_DELAY = 2.0

logger = logging.getLogger(__name__)


def publish_address(host: Any) -> str:
    """The shard's Redis URL: the publisher connects by URL (settings give REDIS_URL)."""
    if isinstance(host, dict) and set(host) == {"address"}:
        return str(host["address"])
    if isinstance(host, dict) and set(host) == {"host", "port"}:  # a (host, port) pair
        return f"redis://{host['host']}:{int(host['port'])}"
    raise ImproperlyConfigured(
        "BatchingPubSubChannelLayer takes its hosts as Redis URLs (redis://, rediss://, "
        f"unix://), not {host!r}."
    )


class BatchingShardConnection(RedisSingleShardConnection):  # type: ignore[misc]
    """One Redis server of the layer: publishes go out in pipelines, in call order, on one
    connection; subscriptions and what they receive use another."""

    def __init__(self, host: Any, channel_layer: Any) -> None:
        super().__init__(host, channel_layer)
        # (channel, payload, future, settles): the future hears of a failure of the item's
        # pipeline, and of success only from the item that `settles` it (the last of a send).
        self._pending: deque[tuple[str, bytes, asyncio.Future[None], bool]] = deque()
        self._publisher: asyncio.Task[None] | None = None
        self._publisher_connection: RedisConnection | None = None
        self._subscriber_connection: RedisConnection | None = None
        self._resubscribing: asyncio.Task[None] | None = None
        # Set when the subscriber connection is lost or cannot be opened, cleared (under the
        # lock) once a new one is subscribed to everything: meanwhile joins do not wait on Redis.
        self._away = False
        self.address = publish_address(host)

    async def publish(self, channel: str, message: bytes) -> None:
        """Queue a publish and wait until its pipeline has been answered."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.enqueue_with(channel, message, done, settles=True)
        await done

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
                # A Redis that accepts the connection and never answers must not hold every
                # later broadcast: the batch fails, its callers log it, the next batch goes on.
                async with asyncio.timeout(settings.BROADCAST_TIMEOUT_SECONDS):
                    connection = await self._publish_connection()
                    packed = b"".join(
                        pack_command(b"PUBLISH", channel.encode(), message)
                        for channel, message, _, _ in batch
                    )
                    await connection.send(packed, replies=len(batch))
            except Exception as exc:  # every waiter hears of the failure; the next batch goes on
                self._drop_publish_connection()
                for _, _, done, _ in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            except BaseException:
                self._drop_publish_connection()
                for _, _, done, _ in batch:
                    done.cancel()
                raise
            for _, _, done, settles in batch:
                if settles and not done.done():
                    done.set_result(None)

    async def _publish_connection(self) -> RedisConnection:
        if self._publisher_connection is None or self._publisher_connection.closed:
            self._publisher_connection = None
            self._publisher_connection = await RedisConnection.open(self.address)
        return self._publisher_connection

    def _drop_publish_connection(self) -> None:
        """After a failure or timeout the connection's replies are out of step with its
        batches: the next batch starts on a new one."""
        if self._publisher_connection is not None:
            self._publisher_connection.close()
            self._publisher_connection = None

    # --- Subscribing and receiving ---------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        """Subscribe now, or, while Redis is away, as soon as it is back: the channel is
        remembered and the background resubscription takes it along. A socket that joins a
        group during an outage is served from the database and caught up by its sync and the
        heartbeat's tail check; it does not fail (docs/reliability.md)."""
        async with self._lock:
            if channel in self._subscribed_to:
                return
            if self._away:  # known to be down: no wait (up to the timeout) per join
                self._subscribed_to.add(channel)
                self._subscriber_lost()
                return
            try:
                await self._on_subscriber(b"SUBSCRIBE", channel)
            except Exception as error:  # noqa: BLE001 - Redis is away: subscribe when it is back
                self._subscribed_to.add(channel)
                self._away = True
                logger.warning("Redis subscribe failed (%s); retrying in the background", error)
                self._subscriber_lost()
                return
            self._subscribed_to.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            if channel in self._subscribed_to:
                # Gone from the set first: a reconnect does not bring it back, whatever happens.
                self._subscribed_to.remove(channel)
                connection = self._subscriber_connection
                if connection is not None and not connection.closed:
                    await self._on_subscriber(b"UNSUBSCRIBE", channel)

    async def _on_subscriber(self, command: bytes, channel: str) -> None:
        """Run one (UN)SUBSCRIBE on the subscriber connection, opening it if need be; the
        caller holds the lock. A Redis that does not answer fails the call after the broadcast
        timeout instead of holding every later join."""
        try:
            async with asyncio.timeout(settings.BROADCAST_TIMEOUT_SECONDS):
                connection = await self._subscriber()
                await connection.send(pack_command(command, channel.encode()), replies=1)
        except Exception as error:
            if self._subscriber_connection is not None:
                self._subscriber_connection.lose(error)  # out of step: start over
            raise

    async def _subscriber(self) -> RedisConnection:
        """The open subscriber connection: a new one is subscribed to everything this process
        listens to before anything else is sent on it. The caller holds the lock."""
        connection = self._subscriber_connection
        if connection is None or connection.closed:
            connection = await RedisConnection.open(
                self.address, on_message=self._deliver, on_lost=self._subscriber_lost
            )
            self._subscriber_connection = connection
            if self._subscribed_to:
                names = [name.encode() for name in self._subscribed_to]
                await connection.send(pack_command(b"SUBSCRIBE", *names), replies=len(names))
        self._away = False
        return connection

    def _subscriber_lost(self) -> None:
        """Redis closed the subscriber connection (a restart, a network fault): subscribe again
        in the background, with backoff, so that this process hears its groups again."""
        self._away = True
        if self._subscribed_to and (self._resubscribing is None or self._resubscribing.done()):
            self._resubscribing = asyncio.get_running_loop().create_task(self._resubscribe())

    async def _resubscribe(self) -> None:
        delay = RESUBSCRIBE_FIRST_DELAY
        while self._subscribed_to:
            await asyncio.sleep(delay)
            try:
                async with self._lock, asyncio.timeout(settings.BROADCAST_TIMEOUT_SECONDS):
                    await self._subscriber()
            except Exception as error:  # noqa: BLE001 - Redis is still away; try again
                if self._subscriber_connection is not None:
                    self._subscriber_connection.close()
                logger.warning("Redis subscription still lost (%s); retrying", error)
                delay = min(delay * 2, RESUBSCRIBE_MAX_DELAY)
                continue
            logger.info("Redis subscription restored (%d channels)", len(self._subscribed_to))
            return

    def _deliver(self, name: bytes, data: bytes) -> None:
        """A published message, as it arrives: into the queue of the channel it was sent to,
        or of each member of the group (as channels-redis's `_receive_message`)."""
        channel = name.decode()
        queues = self.channel_layer.channels
        if (queue := queues.get(channel)) is not None:
            queue.put_nowait(data)
        elif (members := self.channel_layer.groups.get(channel)) is not None:
            for member in members:
                if (queue := queues.get(member)) is not None:
                    queue.put_nowait(data)

    async def flush(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            self._publisher = None
        while self._pending:
            _, _, done, _ = self._pending.popleft()
            if not done.done():
                done.cancel()
        self._drop_publish_connection()
        async with self._lock:
            self._subscribed_to = set[str]()
            self._away = False
            if self._resubscribing is not None:
                self._resubscribing.cancel()
                self._resubscribing = None
            if self._subscriber_connection is not None:
                self._subscriber_connection.close()
                self._subscriber_connection = None


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
