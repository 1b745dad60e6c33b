"""One heartbeat per process for all of its sockets, instead of a task per socket.

Every LIVE_HEARTBEAT_SECONDS one task per event loop (in slices of at most MAX_SOCKETS_PER_BEAT
sockets, at least SLICES of them, spread over the interval):
- re-checks every socket's credential in one database call (deactivated users, ended sessions,
  logouts since the credential was obtained: these hold while Redis, which carries the logout's
  immediate close, is down; an expiring JWT closes its socket on a timer of its own, see
  Member.connect);
- refreshes every socket's presence entries in one Redis round trip, and sweeps each room that
  has a socket here once, not once per socket;
- reads the last seq of every room with a socket here in one query per kind of room, and asks
  each socket that is behind to check its tail (RoomConsumer.check_tail).
A task per socket cost a coroutine, a timer and, every 20 s, two database calls and three Redis
round trips per socket: at 5,000 sockets that was 500 database calls per second of background
load and a few KB per connection (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
import math
import weakref
from collections import defaultdict
from typing import Any, Protocol

from django.conf import settings

from . import presence
from .auth import Credential, credentials_still_valid
from .close_codes import CLOSE_NOT_AUTHENTICATED
from .db import in_db_thread

logger = logging.getLogger(__name__)


# The sockets are beaten in at least this many slices spread over the interval, and in more when
# a slice would hold more than MAX_SOCKETS_PER_BEAT, so that a process with thousands of sockets
# does not stall its event loop for one long beat (a latency spike for every message in flight
# at that moment): a beat's presence refresh costs a few Redis commands per socket.
SLICES = 10
MAX_SOCKETS_PER_BEAT = 50


class Member(Protocol):
    """What the heartbeat asks of each socket (chat/transport.py's Member): declared here,
    so the heartbeat needs nothing from the consumers that join it."""

    user: Any
    credential: Credential | None
    closed: bool

    async def close_with(self, code: int) -> None: ...

    def presence_entries(self) -> list[tuple[str, str]]: ...

    def presence_room(self) -> str | None: ...

    def tail_reader(self) -> Any: ...

    def room_id(self) -> int: ...

    def check_tail(self, last: int) -> None: ...


class Heartbeat:
    def __init__(self) -> None:
        self.members: dict[Member, None] = {}  # the sockets, in join order
        self.task: asyncio.Task[None] | None = None

    def join(self, consumer: Member) -> None:
        self.members[consumer] = None
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run())

    def leave(self, consumer: Member) -> None:
        self.members.pop(consumer, None)

    async def run(self) -> None:
        while self.members:
            # One interval: the sockets here at its start, beaten slice by slice. A socket that
            # joins meanwhile is in the next one (its connect put its presence entries, which
            # outlive two intervals). Weakly held: a socket that goes during the interval is
            # freed at once, not kept (with its consumer, user, order, credential) until the
            # interval ends; under churn a strong list kept a whole round's closed sockets alive
            # into the next round's (issue 24).
            sockets = [weakref.ref(m) for m in self.members]
            slices = max(SLICES, math.ceil(len(sockets) / MAX_SOCKETS_PER_BEAT))
            for turn in range(slices):
                await asyncio.sleep(settings.LIVE_HEARTBEAT_SECONDS / slices)
                members = [
                    m
                    for ref in sockets[turn::slices]
                    if (m := ref()) is not None and not m.closed and m in self.members
                ]
                if not members:
                    continue
                try:
                    await self.beat(members)
                except Exception:
                    logger.exception("heartbeat failed for %d sockets", len(members))

    async def beat(self, members: list[Member]) -> None:
        checked = [m.credential for m in members]
        valid = await in_db_thread(credentials_still_valid)(checked)
        alive = []
        for member, credential, ok in zip(members, checked, valid, strict=True):
            # A socket renewed (auth.refresh) while its old credential was being checked keeps
            # the new one, which was checked when it came in.
            if ok or member.credential is not credential:
                alive.append(member)
            else:
                await member.close_with(CLOSE_NOT_AUTHENTICATED)
        try:
            await presence.refresh_many(
                [entry for member in alive for entry in member.presence_entries()]
            )
            rooms: dict[str, Member] = {}
            for member in alive:
                room = member.presence_room()
                if room is not None:
                    rooms[room] = member
            gone = await presence.sweep_many(list(rooms))
            for room, users in gone.items():
                for user in users:
                    await rooms[room].broadcast_presence(  # type: ignore[attr-defined]
                        online=False, user_id=user.user_id, role=user.role
                    )
        except Exception:
            logger.warning("presence refresh failed", exc_info=True)
        # A dropped broadcast at the tail has no later entry to reveal it: compare with the
        # database, one query per kind of room.
        by_kind: dict[Any, list[Member]] = defaultdict(list)
        for member in alive:
            if member.tail_reader() is not None:
                by_kind[member.tail_reader()].append(member)
        for reader, sockets in by_kind.items():
            last = await in_db_thread(reader)({m.room_id() for m in sockets})
            for member in sockets:
                member.check_tail(last.get(member.room_id(), 0))


_heartbeats: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Heartbeat] = (
    weakref.WeakKeyDictionary()
)


def heartbeat() -> Heartbeat:
    """This event loop's heartbeat."""
    loop = asyncio.get_running_loop()
    beat = _heartbeats.get(loop)
    if beat is None:
        beat = _heartbeats[loop] = Heartbeat()
    return beat
