"""Per-process fan-out: one channel-layer subscription per group per process, delivered here to
this process's sockets in the group.

Channels gives every socket a layer channel of its own (with the pub/sub layer, one Redis
subscription per socket), puts each event into every member's queue and runs every socket's
dispatch loop through `asyncio.wait` on two tasks that it recreates for each message. Under load
that per-socket machinery cost more CPU than storing the message (docs/benchmarks.md). Here each
process holds one layer channel per event loop and joins it to each group that has a socket
here; one reader task receives each event once, decodes it once, and hands it to every local
member (`Member.fanout_receive`), in the order the layer delivered it.

Events carry their group (`realtime` adds it) so that the reader knows whom they are for.
Works with any channel layer: the in-memory one in development and tests, channels-redis in
production.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
import weakref
from typing import Any, Protocol

from channels.layers import BaseChannelLayer

from echo_site.channel_layer import queued_for

logger = logging.getLogger(__name__)


class Member(Protocol):
    async def fanout_receive(self, message: dict[str, Any]) -> None:
        """Handle one event; must not wait for anything that may take long (queue it instead):
        the reader waits for it before it hands the next event to anyone."""


class _Group:
    __slots__ = ("members", "joined")

    def __init__(self) -> None:
        self.members: set[Member] = set()
        # The layer's group_add for this process's channel; joiners wait for it, so that a
        # socket that reads its snapshot after joining hears of everything committed later.
        self.joined: asyncio.Task[None] | None = None


class Fanout:
    """This event loop's sockets, by group, and the one layer channel they share."""

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.groups: dict[str, _Group] = {}
        self.channel: str | None = None
        self._started: asyncio.Task[str] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._leaving: set[asyncio.Task[None]] = set()
        self._process = uuid.uuid4().hex[:16]
        self._socket_ids = itertools.count(1)

    def socket_id(self) -> str:
        """A name for one socket, unique across processes (presence keys its entries by it)."""
        return f"live.{self._process}!{next(self._socket_ids)}"

    async def start(self) -> str:
        """Create this loop's layer channel and its reader, once."""
        if self._started is None or _failed(self._started):
            self._started = asyncio.get_running_loop().create_task(self._start())
        return await asyncio.shield(self._started)

    async def _start(self) -> str:
        self.channel = await self.layer.new_channel(prefix="fanout.")
        self._reader = asyncio.get_running_loop().create_task(self._read(self.channel))
        return self.channel

    async def join(self, group: str, member: Member) -> None:
        channel = await self.start()
        entry = self.groups.get(group)
        if entry is None:
            entry = self.groups[group] = _Group()
        entry.members.add(member)
        if entry.joined is None or _failed(entry.joined):
            entry.joined = asyncio.get_running_loop().create_task(
                self.layer.group_add(group, channel)
            )
        try:
            await asyncio.shield(entry.joined)
        except BaseException:
            entry.members.discard(member)
            raise

    async def leave(self, group: str, member: Member) -> None:
        """Remove `member`; the last one out takes the process's channel out of the group."""
        entry = self.groups.get(group)
        if entry is None or member not in entry.members:
            return
        entry.members.discard(member)
        if entry.members:
            return
        del self.groups[group]
        if entry.joined is None or self.channel is None:
            return
        if not entry.joined.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(entry.joined)
        if group in self.groups:
            return  # someone here joined again meanwhile: the channel stays in the group
        await self.layer.group_discard(group, self.channel)

    def leave_later(self, group: str, member: Member) -> None:
        """`leave` from code that cannot wait (a socket's task being torn down)."""
        task = asyncio.get_running_loop().create_task(self.leave(group, member))
        self._leaving.add(task)
        task.add_done_callback(self._leaving.discard)

    def backlog(self) -> int:
        """Events received by the layer for this process and not yet handed out."""
        return queued_for(self.layer, self.channel) if self.channel else 0

    async def _read(self, channel: str) -> None:
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # the layer's connection failed: it reconnects, we read again
                logger.warning("fan-out receive failed", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            entry = self.groups.get(message.get("group", ""))
            if entry is None:
                continue
            for member in list(entry.members):
                try:
                    await member.fanout_receive(message)
                except Exception:  # one socket's failure is not the others'
                    logger.exception("fan-out delivery failed")


def _failed(task: asyncio.Task[Any]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Fanout] = weakref.WeakKeyDictionary()


def fanout(layer: BaseChannelLayer) -> Fanout:
    """This event loop's fan-out over `layer`."""
    loop = asyncio.get_running_loop()
    current = _fanouts.get(loop)
    if current is None or current.layer is not layer:
        current = _fanouts[loop] = Fanout(layer)
    return current
