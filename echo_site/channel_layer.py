"""ECHO's channel layer: Redis pub/sub, publishes batched into pipelines, a standalone
implementation of channels' `BaseChannelLayer` on redis-py's public API.

It speaks channels-redis's `RedisPubSubChannelLayer` protocol on the wire (the same channel
names for groups, `{prefix}__group__{group}`, the same stable hash over several hosts, and
channels-redis's public serializer registry, msgpack by default), so a process on plain
channels-redis and one on this layer hear each other (tests/chat/test_channel_layer.py). What
it adds: publishes go out in pipelines in call order (echo_site/redis_shard.py),
`publish_nowait` queues sends without a task each, and a lost subscription comes back by itself.

State lives per event loop (asyncio objects cannot cross loops). A loop's state is dropped as
soon as the loop is seen closed, so a layer used from many short-lived loops (async_to_sync)
holds only the live ones.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import uuid
from collections.abc import Iterator
from typing import Any

from channels.layers import BaseChannelLayer
from channels_redis.serializers import registry
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio import ConnectionPool

from echo_site.redis_shard import Backoff, ShardConnection

logger = logging.getLogger(__name__)


def shard_index(name: str, ring_size: int) -> int:
    """The shard of a channel or group: CRC32 into 4,096 slots, split evenly, as channels-redis
    does, so that both layers pick the same server for a name."""
    if ring_size == 1:
        return 0
    return int((binascii.crc32(name.encode()) & 0xFFF) / (4096 / ring_size))


def connection_pool(host: Any) -> ConnectionPool:
    """A redis-py pool for one host of the settings: a URL (redis://, rediss://, unix://,
    parsed by redis-py with every option it knows), a (host, port) pair, or channels-redis's
    {"address": url, **pool options}. Sentinel is not supported: refused at start-up."""
    options: dict[str, Any] = {}
    if isinstance(host, dict) and "address" in host:
        options = {k: v for k, v in host.items() if k != "address"}
        host = host["address"]
    elif isinstance(host, tuple | list) and len(host) == 2:
        host = f"redis://{host[0]}:{int(host[1])}"
    if not isinstance(host, str):
        raise ImproperlyConfigured(
            "BatchingPubSubChannelLayer takes its hosts as Redis URLs (redis://, rediss://, "
            f"unix://), (host, port) pairs or {{'address': url}}, not {host!r}."
        )
    # RESP2, which redis-py 8 no longer defaults to: the subscriber reads pub/sub replies as
    # arrays (redis_shard.py); in RESP3 they are push frames redis-py keeps from a plain read.
    options.setdefault("protocol", 2)
    # No per-read socket timeout (redis-py 8 defaults to 5 s, which wraps every send in a new
    # task): the layer bounds each publish batch, join and leave itself, with
    # BROADCAST_TIMEOUT_SECONDS, and the subscriber's read waits for as long as it is quiet.
    options.setdefault("socket_timeout", None)
    try:
        pool = ConnectionPool.from_url(host, **options)
    except (TypeError, ValueError) as error:
        raise ImproperlyConfigured(f"Invalid Redis URL for the channel layer: {error}") from error
    if pool.connection_kwargs.get("decode_responses"):
        # Messages are msgpack bytes: decoded to str they could not be read back.
        raise ImproperlyConfigured("The channel layer's Redis URL cannot set decode_responses.")
    if str(pool.connection_kwargs.get("protocol")) != "2":
        raise ImproperlyConfigured("The channel layer's Redis URL cannot set protocol=3.")
    return pool


class LoopLayer:
    """The layer's state on one event loop: the channels of this process with their queues,
    the groups they joined, and one ShardConnection per Redis host."""

    def __init__(self, channel_layer: BatchingPubSubChannelLayer) -> None:
        self.channel_layer = channel_layer
        self.prefix = channel_layer.prefix
        self.channels: dict[str, asyncio.Queue[bytes]] = {}
        self.groups: dict[str, set[str]] = {}
        self.shards = [
            ShardConnection(connection_pool(host), self, backoff)
            for host, backoff in zip(channel_layer.hosts, channel_layer.backoffs, strict=True)
        ]

    def shard(self, name: str) -> ShardConnection:
        return self.shards[shard_index(name, len(self.shards))]

    def group_channel(self, group: str) -> str:
        return f"{self.prefix}__group__{group}"

    def deliver(self, name: bytes, data: bytes) -> None:
        """A published message, as it arrives: into the queue of the channel it was sent to,
        or of each member of the group."""
        channel = name.decode()
        if (queue := self.channels.get(channel)) is not None:
            queue.put_nowait(data)
        elif (members := self.groups.get(channel)) is not None:
            for member in members:
                if (queue := self.channels.get(member)) is not None:
                    queue.put_nowait(data)

    async def send(self, channel: str, message: Any) -> None:
        await self.shard(channel).publish(channel, self.channel_layer.serialize(message))

    async def _listen(self, channel: str) -> None:
        self.channels[channel] = asyncio.Queue()
        await self.shard(channel).subscribe(channel)

    async def new_channel(self, prefix: str = "specific.") -> str:
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        await self._listen(channel)
        return channel

    async def receive(self, channel: str) -> Any:
        if channel not in self.channels:
            await self._listen(channel)
        queue = self.channels[channel]
        try:
            message = await queue.get()
        except (asyncio.CancelledError, TimeoutError, GeneratorExit):
            # A cancelled receive means its consumer is gone (channels has no delete_channel):
            # the channel is dropped and unsubscribed, as channels-redis does.
            if self.channels.pop(channel, None) is not None:
                try:
                    await self.shard(channel).unsubscribe(channel)
                except BaseException:
                    logger.exception("Unexpected error while dropping channel %s", channel)
            raise
        return self.channel_layer.deserialize(message)

    async def group_add(self, group: str, channel: str) -> None:
        if channel not in self.channels:
            raise RuntimeError(
                "You can only call group_add() on channels that exist in-process "
                "(self.channel_layer.group_add(group, self.channel_name))."
            )
        group_channel = self.group_channel(group)
        self.groups.setdefault(group_channel, set()).add(channel)
        await self.shard(group_channel).subscribe(group_channel)

    async def group_discard(self, group: str, channel: str) -> None:
        group_channel = self.group_channel(group)
        members = self.groups.get(group_channel)
        if members is None or channel not in members:
            return
        members.remove(channel)
        if not members:
            del self.groups[group_channel]
            await self.shard(group_channel).unsubscribe(group_channel)

    async def group_send(self, group: str, message: Any) -> None:
        group_channel = self.group_channel(group)
        await self.shard(group_channel).publish(
            group_channel, self.channel_layer.serialize(message)
        )

    def publish_nowait(self, sends: list[tuple[str, Any]]) -> asyncio.Future[Any]:
        """Queue `group_send` of each (group, message) without waiting: no task, one future
        for all of them, settled when every pipeline they went out in has been answered (with
        the first failure, if one failed)."""
        loop = asyncio.get_running_loop()
        last: dict[ShardConnection, tuple[str, bytes]] = {}
        futures: dict[ShardConnection, asyncio.Future[None]] = {}
        for group, message in sends:
            channel = self.group_channel(group)
            shard = self.shard(channel)
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

    async def flush(self) -> None:
        self.channels = {}
        self.groups = {}
        for shard in self.shards:
            await shard.flush()


class LoopLayers:
    """LoopLayer per event loop. A closed loop's entry is dropped whenever the map is read
    (`loop.is_closed()`, public asyncio): its connections and tasks died with the loop, and
    keeping them would hold the loop and leak one set per short-lived loop. The loop is not
    patched (channels-redis wraps `loop.close` to flush first): asyncio.run, async_to_sync and
    pytest-asyncio cancel the layer's tasks before closing a loop (echo_site/redis_shard.py)."""

    def __init__(self) -> None:
        self._by_loop: dict[asyncio.AbstractEventLoop, LoopLayer] = {}

    def _prune(self) -> None:
        for loop in [loop for loop in self._by_loop if loop.is_closed()]:
            del self._by_loop[loop]

    def get(self, loop: asyncio.AbstractEventLoop) -> LoopLayer | None:
        return self._by_loop.get(loop)

    def __setitem__(self, loop: asyncio.AbstractEventLoop, layer: LoopLayer) -> None:
        self._prune()
        self._by_loop[loop] = layer

    def values(self) -> list[LoopLayer]:
        self._prune()
        return list(self._by_loop.values())

    def __len__(self) -> int:
        self._prune()
        return len(self._by_loop)

    def __iter__(self) -> Iterator[asyncio.AbstractEventLoop]:
        self._prune()
        return iter(list(self._by_loop))


class BatchingPubSubChannelLayer(BaseChannelLayer):  # type: ignore[misc]
    """Channel layer over Redis pub/sub (channels-redis's protocol), publishing in pipelines.

    CONFIG: hosts (list of Redis URLs), prefix ("asgi"), serializer_format ("msgpack"),
    symmetric_encryption_keys; anything else is refused at start-up rather than ignored."""

    extensions = ["groups", "flush"]

    def __init__(
        self,
        hosts: list[Any] | None = None,
        prefix: str = "asgi",
        serializer_format: str = "msgpack",
        symmetric_encryption_keys: list[str] | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise ImproperlyConfigured(
                f"BatchingPubSubChannelLayer does not support {', '.join(sorted(unknown))}."
            )
        super().__init__()
        if isinstance(hosts, str | bytes):
            raise ValueError("You must pass a list of Redis hosts, even if there is only one.")
        self.hosts = list(hosts or ["redis://localhost:6379"])
        for host in self.hosts:
            connection_pool(host)  # a bad URL or option fails here, at start-up
        self.prefix = prefix
        # Per server, for the whole process: a failed publish backs off that server only.
        self.backoffs = [Backoff() for _ in self.hosts]
        self._serializer = registry.get_serializer(
            serializer_format, symmetric_encryption_keys=symmetric_encryption_keys
        )
        self._layers = LoopLayers()

    def serialize(self, message: Any) -> bytes:
        return self._serializer.serialize(message)  # type: ignore[no-any-return]

    def deserialize(self, message: bytes) -> Any:
        return self._serializer.deserialize(message)

    def _get_layer(self) -> LoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = LoopLayer(self)
            self._layers[loop] = layer
        return layer

    async def send(self, channel: str, message: Any) -> None:
        await self._get_layer().send(channel, message)

    async def receive(self, channel: str) -> Any:
        return await self._get_layer().receive(channel)

    async def new_channel(self, prefix: str = "specific.") -> str:
        return await self._get_layer().new_channel(prefix)

    async def group_add(self, group: str, channel: str) -> None:
        await self._get_layer().group_add(group, channel)

    async def group_discard(self, group: str, channel: str) -> None:
        await self._get_layer().group_discard(group, channel)

    async def group_send(self, group: str, message: Any) -> None:
        await self._get_layer().group_send(group, message)

    def publish_nowait(self, sends: list[tuple[str, Any]]) -> asyncio.Future[Any]:
        return self._get_layer().publish_nowait(sends)

    def unreachable_groups(self, groups: list[str]) -> list[str]:
        """Those of `groups` on a Redis server that failed its last publish: each server backs
        off by itself (echo_site/redis_shard.py), the others go on publishing."""
        ring = len(self.hosts)
        return [
            g
            for g in groups
            if self.backoffs[shard_index(f"{self.prefix}__group__{g}", ring)].failing
        ]

    async def flush(self) -> None:
        await self._get_layer().flush()


def queued_for(layer: Any, channel: str) -> int:
    """How many messages wait in this process for `channel` to be received (0 if the layer
    cannot tell). Channels' in-memory layer and this one both keep one asyncio.Queue per
    channel of the process."""
    try:
        loop_layer = layer._get_layer() if hasattr(layer, "_get_layer") else layer
        queue = loop_layer.channels.get(channel)
        return int(queue.qsize()) if queue is not None else 0
    except Exception:  # noqa: BLE001 - another layer: assume nothing is queued
        return 0
