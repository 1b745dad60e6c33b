"""One Redis server of the channel layer (echo_site/channel_layer.py), on redis-py's public API.

Publishing: every publish joins a queue; one task per shard sends everything queued so far as
one pipeline on a pooled `redis.asyncio` connection (`pack_commands` + `send_packed_command`,
then one `read_response` per command), then the next batch. Messages go out in the order they
were queued; a burst costs one round trip, not one per message under a lock (channels-redis's
`RedisPubSubChannelLayer` publishes one message per round trip, which under load queued
broadcasts for seconds: docs/benchmarks.md).

Subscribing: one `redis.asyncio.client.PubSub` per shard and one task that reads it without
polling (`get_message(timeout=None)`), putting each published message in its channel's queue as
it arrives. A (UN)SUBSCRIBE waits for Redis's confirmation, so a group joined is a group heard.
A lost subscriber connection is replaced in the background, with backoff, by a new PubSub
subscribed to everything this process listens to; meanwhile joins are remembered and return at
once (docs/reliability.md).

Everything about the connection (URL options, TLS and hostname checks, AUTH, RESP version)
is redis-py's own: the pools come from `ConnectionPool.from_url` (channel_layer.py). A little
over 300 lines: publishing and subscribing share the shard's lifecycle (flush, loop shutdown),
and splitting them would split that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from django.conf import settings
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ResponseError

if TYPE_CHECKING:
    from echo_site.channel_layer import LoopLayer

# Upper bound on one pipeline: a burst is split so that no reply grows without limit.
MAX_BATCH = 512
# After Redis dropped the subscriber connection: first retry, and the longest wait between two.
RESUBSCRIBE_FIRST_DELAY = 0.05
RESUBSCRIBE_MAX_DELAY = 2.0

logger = logging.getLogger(__name__)

# The layer's background tasks (publisher, reader, resubscriber), held until they end: asyncio
# keeps only weak references, and a pending task that is collected is lost mid-work and logged
# as "Task was destroyed but it is pending!". asyncio.run, async_to_sync and pytest-asyncio
# cancel a loop's tasks before closing it (daphne's never closes); a loop closed by hand with
# a subscription live leaves its reader here.
_tasks: set[asyncio.Task[None]] = set()


def spawn(work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    task = asyncio.get_running_loop().create_task(work)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


# (channel, payload, future, settles): the future hears of a failure of the item's pipeline,
# and of success only from the item that `settles` it (the last of a send).
Pending = tuple[str, bytes, "asyncio.Future[None]", bool]


class ShardConnection:
    """Publishes in pipelines, in call order, on pooled connections; subscriptions and what
    they receive on one PubSub."""

    def __init__(self, pool: ConnectionPool, layer: LoopLayer) -> None:
        self.pool = pool
        self.layer = layer
        self._pending: deque[Pending] = deque()
        self._publisher: asyncio.Task[None] | None = None
        # Every channel this process listens to on this shard: what a new PubSub subscribes to.
        self.subscribed_to: set[str] = set()
        self._lock = asyncio.Lock()
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._confirming: dict[bytes, list[asyncio.Future[None]]] = {}
        self._resubscribing: asyncio.Task[None] | None = None
        # Set when the subscriber connection is lost or cannot be opened, cleared (under the
        # lock) once a new one is subscribed to everything: meanwhile joins do not wait on Redis.
        self._away = False

    # --- Publishing ------------------------------------------------------------------------

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
            self._publisher = spawn(self._publish_pending())

    async def _publish_pending(self) -> None:
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(len(self._pending), MAX_BATCH))]
            try:
                # A Redis that accepts the connection and never answers must not hold every
                # later broadcast: the batch fails, its callers log it, the next batch goes on.
                async with asyncio.timeout(settings.BROADCAST_TIMEOUT_SECONDS):
                    await self.send_batch(batch)
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

    async def send_batch(self, batch: list[Pending]) -> None:
        """One pipeline of PUBLISHes on a pooled connection (the pool checks a connection
        Redis closed meanwhile and opens a new one). A connection that failed or timed out
        mid-batch has replies out of step with its commands: it is closed, not reused."""
        connection = await self.pool.get_connection()
        healthy = False
        try:
            packed = connection.pack_commands([("PUBLISH", c, m) for c, m, _, _ in batch])
            await connection.send_packed_command(packed, check_health=False)
            error: ResponseError | None = None
            for _ in batch:
                try:
                    await connection.read_response()
                except ResponseError as reply:  # read the rest: the stream stays in step
                    error = error or reply
            healthy = True
            if error is not None:
                raise error
        finally:
            if not healthy:
                await asyncio.shield(connection.disconnect(nowait=True))
            await asyncio.shield(self.pool.release(connection))

    # --- Subscribing and receiving ---------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        """Subscribe now, or, while Redis is away, as soon as it is back: the channel is
        remembered and the background resubscription takes it along. A socket that joins a
        group during an outage is served from the database and caught up by its sync and the
        heartbeat's tail check; it does not fail (docs/reliability.md)."""
        async with self._lock:
            if channel in self.subscribed_to:
                return
            self.subscribed_to.add(channel)
            if self._away:  # known to be down: no wait (up to the timeout) per join
                self._subscriber_lost()
                return
            try:
                async with asyncio.timeout(settings.BROADCAST_TIMEOUT_SECONDS):
                    if self._pubsub is None:
                        await self._open_subscriber()  # subscribes to everything, this included
                    else:
                        await self._confirmed(self._pubsub, "subscribe", [channel])
            except Exception as error:  # noqa: BLE001 - Redis is away: subscribe when it is back
                logger.warning("Redis subscribe failed (%r); retrying in the background", error)
                await self._drop_subscriber()
                self._subscriber_lost()

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            if channel not in self.subscribed_to:
                return
            # Gone from the set first: a reconnect does not bring it back, whatever happens.
            self.subscribed_to.remove(channel)
            if self._pubsub is None or self._away:
                return
            if self._reader is None or self._reader.done() or self._reader.cancelling():
                # Nobody reads the PubSub, or nobody will (its loop is shutting down and has
                # cancelled the reader, perhaps not yet run): close it rather than wait for a
                # confirmation no one reads, then start a reader that would outlive the loop.
                await self._drop_subscriber()
                self._away = False
                return
            try:
                async with asyncio.timeout(settings.BROADCAST_TIMEOUT_SECONDS):
                    await self._confirmed(self._pubsub, "unsubscribe", [channel])
            except Exception as error:  # noqa: BLE001 - a leaving socket must not fail
                logger.warning("Redis unsubscribe failed (%r); resubscribing without it", error)
                await self._drop_subscriber()
                self._subscriber_lost()

    async def _open_subscriber(self) -> None:
        """A new PubSub subscribed to everything this process listens to, before anything
        else is sent on it. The caller holds the lock and bounds the time."""
        pubsub = Redis(connection_pool=self.pool).pubsub()
        self._pubsub = pubsub
        if self.subscribed_to:
            await self._confirmed(pubsub, "subscribe", sorted(self.subscribed_to))
        self._away = False

    async def _confirmed(self, pubsub: PubSub, kind: str, channels: list[str]) -> None:
        """Send (UN)SUBSCRIBE and wait until Redis has confirmed every channel of it: after a
        join returns, a message published to the group is heard."""
        loop = asyncio.get_running_loop()
        waiters = []
        for channel in channels:
            waiter: asyncio.Future[None] = loop.create_future()
            self._confirming.setdefault(f"{kind}:{channel}".encode(), []).append(waiter)
            waiters.append(waiter)
        try:
            if kind == "subscribe":
                await pubsub.subscribe(*channels)
            else:
                await pubsub.unsubscribe(*channels)
            if kind == "subscribe" and (self._reader is None or self._reader.done()):
                self._reader = spawn(self._read(pubsub))
            await asyncio.gather(*waiters)
        finally:
            for channel, waiter in zip(channels, waiters, strict=True):
                key = f"{kind}:{channel}".encode()
                if waiter in (left := self._confirming.get(key, [])):
                    left.remove(waiter)
                    if not left:
                        del self._confirming[key]

    async def _read(self, pubsub: PubSub) -> None:
        """Hand each published message to the layer as it arrives; settle confirmations."""
        deliver = self.layer.deliver
        try:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                kind = message["type"]
                if kind == "message":
                    deliver(message["channel"], message["data"])
                elif kind in ("subscribe", "unsubscribe"):
                    key = kind.encode() + b":" + message["channel"]
                    for waiter in self._confirming.pop(key, []):
                        if not waiter.done():
                            waiter.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - Redis closed the connection: start over
            if self._pubsub is not pubsub:
                return
            logger.warning("Redis subscriber connection lost (%r)", error)
            self._reader = None
            await self._drop_subscriber(error)
            self._subscriber_lost()

    async def _drop_subscriber(self, error: Exception | None = None) -> None:
        """Close the PubSub (lost, or out of step after a timeout); waiting confirmations fail."""
        pubsub, self._pubsub = self._pubsub, None
        self._away = True
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
        for waiters in self._confirming.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error or ConnectionError("subscriber closed"))
        self._confirming.clear()
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _subscriber_lost(self) -> None:
        """Subscribe again in the background, with backoff, so that this process hears its
        groups again once Redis is back."""
        self._away = True
        if self.subscribed_to and (self._resubscribing is None or self._resubscribing.done()):
            self._resubscribing = spawn(self._resubscribe())

    async def _resubscribe(self) -> None:
        delay = RESUBSCRIBE_FIRST_DELAY
        while self.subscribed_to:
            await asyncio.sleep(delay)
            try:
                async with self._lock, asyncio.timeout(settings.BROADCAST_TIMEOUT_SECONDS):
                    if not self._away:
                        return  # a join got there first
                    await self._open_subscriber()
            except Exception as error:  # noqa: BLE001 - Redis is still away; try again
                async with self._lock:
                    await self._drop_subscriber()
                logger.warning("Redis subscription still lost (%r); retrying", error)
                delay = min(delay * 2, RESUBSCRIBE_MAX_DELAY)
                continue
            logger.info("Redis subscription restored (%d channels)", len(self.subscribed_to))
            return

    async def flush(self) -> None:
        """Forget every subscription and pending publish; close every connection."""
        for task in (self._publisher, self._resubscribing):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        self._publisher = self._resubscribing = None
        while self._pending:
            _, _, done, _ = self._pending.popleft()
            if not done.done():
                done.cancel()
        async with self._lock:
            self.subscribed_to = set()
            await self._drop_subscriber()
            self._away = False
            await self.pool.disconnect()
