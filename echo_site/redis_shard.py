"""One Redis server of the channel layer (echo_site/channel_layer.py), on redis-py's public API.

Publishing: every publish joins a queue; one task per shard sends everything queued so far as
one command on a pooled `redis.asyncio` connection (an EVAL of a script that PUBLISHes each
message, packed here and sent with `send_packed_command`, one `read_response`), then the next
batch. Messages go out in the order they were queued; a burst costs one round trip, not one per
message under a lock (channels-redis's `RedisPubSubChannelLayer` publishes one message per
round trip, which under load queued broadcasts for seconds: docs/benchmarks.md). After a batch
fails, publishes to this shard fail at once (ShardBackingOff) for BROADCAST_BACKOFF_SECONDS,
so that callers do not each wait out the timeout again; the other shards are not affected.

Subscribing: one pooled connection per shard held for SUBSCRIBE, and one task that reads its
replies (`Connection.read_response`, blocking) and puts each published message in its channel's
queue as it arrives. Not redis-py's `PubSub`: its five coroutine layers and message dicts per
message were the larger part of the layer's CPU (docs/benchmarks.md, "The layer's CPU").
A (UN)SUBSCRIBE waits for Redis's confirmation, so a group joined is a group heard.
A lost subscriber connection is replaced in the background, with backoff, by a new one
subscribed to everything this process listens to; meanwhile joins are remembered and return at
once (docs/reliability.md).

Everything about the connection (URL options, TLS and hostname checks, AUTH, RESP version)
is redis-py's own: the pools come from `ConnectionPool.from_url` (channel_layer.py). About 370
lines: publishing and subscribing share the shard's lifecycle (flush, loop shutdown), and
splitting them would split that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from django.conf import settings
from redis.asyncio import ConnectionPool
from redis.asyncio.connection import AbstractConnection

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


class ShardBackingOff(ConnectionError):
    """A publish refused without trying: this shard's last batch failed less than
    BROADCAST_BACKOFF_SECONDS ago."""


class Backoff:
    """A Redis server's publishing health in this process: whether its last batch failed, and
    until when publishes to it fail at once. One per server, shared by every event loop's
    connection to it: a worker or a management command sends each broadcast from a loop of its
    own (async_to_sync), and must not wait out the timeout on each of them again."""

    __slots__ = ("failing", "until")

    def __init__(self) -> None:
        self.failing = False
        self.until = 0.0

    def failed(self) -> None:
        self.failing = True
        self.until = time.monotonic() + settings.BROADCAST_BACKOFF_SECONDS

    @property
    def active(self) -> bool:
        return self.failing and time.monotonic() < self.until


# (channel, payload, future, settles): the future hears of a failure of the item's pipeline,
# and of success only from the item that `settles` it (the last of a send).
Pending = tuple[str, bytes, "asyncio.Future[None]", bool]


# One EVAL publishes a whole batch, in order: one reply to read instead of one per PUBLISH,
# and the command packed here, with no per-argument type checks (the channel is a str, the
# message msgpack bytes). Reading a reply costs redis-py a coroutine round; packing goes through
# its general encoder: together most of the layer's own CPU per publish (docs/benchmarks.md,
# "The layer's publishing"). Redis caches the compiled script by its hash.
PUBLISH_ALL_SCRIPT = b"for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end"


def publish_all(batch: list[Pending]) -> bytes:
    """The RESP bytes of `EVAL PUBLISH_ALL_SCRIPT 0 channel message channel message ...`."""
    parts = [
        b"*%d\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n"
        % (3 + 2 * len(batch), len(PUBLISH_ALL_SCRIPT), PUBLISH_ALL_SCRIPT)
    ]
    for channel, message, _, _ in batch:
        name = channel.encode()
        parts.append(b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(name), name, len(message), message))
    return b"".join(parts)


class ShardConnection:
    """Publishes in batches, in call order, on pooled connections; subscriptions and what
    they receive on one held connection."""

    def __init__(self, pool: ConnectionPool, layer: LoopLayer, backoff: Backoff) -> None:
        self.pool = pool
        self.layer = layer
        self.backoff = backoff
        self._pending: deque[Pending] = deque()
        self._publisher: asyncio.Task[None] | None = None
        # Every channel this process listens to on this shard: what a new subscriber connection
        # subscribes to.
        self.subscribed_to: set[str] = set()
        self._lock = asyncio.Lock()
        self._subscriber: AbstractConnection | None = None
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
        backoff = self.backoff
        if backoff.failing and time.monotonic() < backoff.until:  # backoff.active, inlined
            if not done.done():
                done.set_exception(ShardBackingOff("this Redis server's last publish failed"))
            return
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
                self.backoff.failed()
                for _, _, done, _ in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            except BaseException:
                for _, _, done, _ in batch:
                    done.cancel()
                raise
            self.backoff.failing = False
            for _, _, done, settles in batch:
                if settles and not done.done():
                    done.set_result(None)

    async def send_batch(self, batch: list[Pending]) -> None:
        """The batch as one command on a pooled connection (the pool checks a connection
        Redis closed meanwhile and opens a new one). A connection that failed or timed out
        mid-batch may have a reply still to come: it is closed, not reused."""
        connection = await self.pool.get_connection()
        healthy = False
        try:
            await connection.send_packed_command(publish_all(batch), check_health=False)
            try:
                await connection.read_response()
            finally:
                healthy = True  # a reply, even an error reply, leaves the stream in step
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
                    if self._subscriber is None:
                        await self._open_subscriber()  # subscribes to everything, this included
                    else:
                        await self._confirmed(self._subscriber, "subscribe", [channel])
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
            if self._subscriber is None or self._away:
                return
            if self._reader is None or self._reader.done() or self._reader.cancelling():
                # Nobody reads the connection, or nobody will (its loop is shutting down and has
                # cancelled the reader, perhaps not yet run): close it rather than wait for a
                # confirmation no one reads, then start a reader that would outlive the loop.
                await self._drop_subscriber()
                self._away = False
                return
            try:
                async with asyncio.timeout(settings.BROADCAST_TIMEOUT_SECONDS):
                    await self._confirmed(self._subscriber, "unsubscribe", [channel])
            except Exception as error:  # noqa: BLE001 - a leaving socket must not fail
                logger.warning("Redis unsubscribe failed (%r); resubscribing without it", error)
                await self._drop_subscriber()
                self._subscriber_lost()

    async def _open_subscriber(self) -> None:
        """A new connection subscribed to everything this process listens to, before anything
        else is sent on it. The caller holds the lock and bounds the time."""
        connection = await self.pool.get_connection()
        self._subscriber = connection
        if self.subscribed_to:
            await self._confirmed(connection, "subscribe", sorted(self.subscribed_to))
        self._away = False

    async def _confirmed(
        self, connection: AbstractConnection, kind: str, channels: list[str]
    ) -> None:
        """Send (UN)SUBSCRIBE and wait until Redis has confirmed every channel of it: after a
        join returns, a message published to the group is heard."""
        loop = asyncio.get_running_loop()
        waiters = []
        for channel in channels:
            waiter: asyncio.Future[None] = loop.create_future()
            self._confirming.setdefault(f"{kind}:{channel}".encode(), []).append(waiter)
            waiters.append(waiter)
        try:
            await connection.send_command(kind.upper(), *channels, check_health=False)
            if kind == "subscribe" and (self._reader is None or self._reader.done()):
                self._reader = spawn(self._read(connection))
            await asyncio.gather(*waiters)
        finally:
            for channel, waiter in zip(channels, waiters, strict=True):
                key = f"{kind}:{channel}".encode()
                if waiter in (left := self._confirming.get(key, [])):
                    left.remove(waiter)
                    if not left:
                        del self._confirming[key]

    async def _read(self, connection: AbstractConnection) -> None:
        """Hand each published message to the layer as it arrives; settle confirmations.
        Replies are RESP2 arrays: [b"message", channel, data] or [b"subscribe", channel, n]."""
        deliver = self.layer.deliver
        read = connection.read_response
        try:
            while True:
                # math.inf: block until a reply comes, whatever socket_timeout the URL sets.
                reply = await read(timeout=math.inf)
                kind = reply[0]
                if kind == b"message":
                    deliver(reply[1], reply[2])
                elif kind == b"subscribe" or kind == b"unsubscribe":
                    for waiter in self._confirming.pop(kind + b":" + reply[1], []):
                        if not waiter.done():
                            waiter.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - Redis closed the connection: start over
            if self._subscriber is not connection:
                return
            logger.warning("Redis subscriber connection lost (%r)", error)
            self._reader = None
            await self._drop_subscriber(error)
            self._subscriber_lost()

    async def _drop_subscriber(self, error: Exception | None = None) -> None:
        """Close the subscriber connection (lost, or out of step after a timeout); waiting
        confirmations fail."""
        connection, self._subscriber = self._subscriber, None
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
        if connection is not None:
            # Closed before it goes back: a pooled connection must not carry subscriptions.
            with contextlib.suppress(Exception):
                await connection.disconnect(nowait=True)
            with contextlib.suppress(Exception):
                await self.pool.release(connection)

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
        self.backoff.failing = False
        while self._pending:
            _, _, done, _ = self._pending.popleft()
            if not done.done():
                done.cancel()
        async with self._lock:
            self.subscribed_to = set()
            await self._drop_subscriber()
            self._away = False
            await self.pool.disconnect()
