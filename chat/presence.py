"""Who is online in a room, across tabs, devices and server processes. Never stored in the DB.

Each connection holds an entry `user_id|role|channel_name -> expires_at` in the room's table and
refreshes it on its heartbeat. A user is online while any of their entries is fresh, so several
tabs count once, and a connection that died without a close frame (a killed process) drops out
when its entry goes stale. With REDIS_URL the table is a Redis hash shared by every process;
otherwise it lives in this process.

Last seen: while a user's connection is in a room (each heartbeat) and when it leaves (or its
entry is swept as stale), the time is remembered per (room, user) for LAST_SEEN_TTL_SECONDS, so
that notify can tell "no socket on that order for N minutes" exactly (`last_seen`). It shares the
store's client and round trips, which is why this module is past 300 lines.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import redis as redis_sync  # the clean-up task's client, outside any event loop
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

logger = logging.getLogger(__name__)


# How long a room's last-seen times are kept: longer than the longest digest delay a user may
# choose (notify's MAX_DIGEST_DELAY_MINUTES, 7 days), so a delay never outlives what it reads.
LAST_SEEN_TTL_SECONDS = 8 * 24 * 3600
# The table of a user's sockets (their open pages): `sockets.{user_id}`; not a room.
_SOCKETS = "sockets."
# The process store forgets expired last-seen times at most this often.
_LOCAL_SEEN_PRUNE_SECONDS = 60.0


@dataclass(frozen=True)
class Present:
    user_id: int
    role: str


@dataclass(frozen=True)
class Seen:
    """A user in a room: `online` now, or the time (epoch seconds) their last socket there was
    last known alive (None: no socket there within LAST_SEEN_TTL_SECONDS)."""

    online: bool
    last_seen: float | None


def _field(user_id: int, role: str, channel: str) -> str:
    return f"{user_id}|{role}|{channel}"


def _parse(field: str) -> tuple[int, str, str]:
    user_id, role, channel = field.split("|", 2)
    return int(user_id), role, channel


def _online(entries: dict[str, float], now: float) -> dict[int, str]:
    users: dict[int, str] = {}
    for field, expires in entries.items():
        if expires > now:
            user_id, role, _ = _parse(field)
            users[user_id] = role
    return users


class LocalPresence:
    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, float]] = {}
        self.seen: dict[str, dict[int, float]] = {}  # room -> user -> last seen
        self.seen_pruned = 0.0

    async def mark_seen(self, marks: list[tuple[str, int, float]]) -> None:
        now = time.time()
        if now - self.seen_pruned > _LOCAL_SEEN_PRUNE_SECONDS:  # bounded: old rooms go
            self.seen_pruned = now
            horizon = now - LAST_SEEN_TTL_SECONDS
            for room in list(self.seen):
                users = {u: at for u, at in self.seen[room].items() if at > horizon}
                if users:
                    self.seen[room] = users
                else:
                    del self.seen[room]
        for room, user_id, at in marks:
            users = self.seen.setdefault(room, {})
            users[user_id] = max(at, users.get(user_id, at))

    async def remove_and_entries(
        self, room: str, field: str, seen: tuple[str, int, float]
    ) -> dict[str, float]:
        await self.remove(room, [field])
        await self.mark_seen([seen])
        return await self.entries(room)

    async def entries_and_seen(
        self, rooms: list[str], user_id: int
    ) -> list[tuple[dict[str, float], float | None]]:
        horizon = time.time() - LAST_SEEN_TTL_SECONDS
        out = []
        for room in rooms:
            at = self.seen.get(room, {}).get(user_id)
            out.append((await self.entries(room), at if at is not None and at > horizon else None))
        return out

    async def entries(self, room: str) -> dict[str, float]:
        return dict(self.rooms.get(room, {}))

    async def put(self, room: str, field: str, expires: float) -> None:
        self.rooms.setdefault(room, {})[field] = expires

    async def put_and_entries(self, room: str, field: str, expires: float) -> dict[str, float]:
        await self.put(room, field, expires)
        return await self.entries(room)

    async def put_many(
        self,
        entries: list[tuple[str, str]],
        expires: float,
        seen: list[tuple[str, int, float]] | None = None,
    ) -> None:
        for room, field in entries:
            await self.put(room, field, expires)
        await self.mark_seen(seen or [])

    async def entries_many(self, rooms: list[str]) -> list[dict[str, float]]:
        return [await self.entries(room) for room in rooms]

    async def remove_many(self, fields_by_room: dict[str, list[str]]) -> None:
        for room, fields in fields_by_room.items():
            await self.remove(room, fields)

    async def remove(self, room: str, fields: list[str]) -> None:
        table = self.rooms.get(room, {})
        for field in fields:
            table.pop(field, None)
        if not table:
            self.rooms.pop(room, None)


class RedisPresence:
    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: dict[int, Any] = {}

    def _client(self) -> Any:
        # One client per event loop: redis.asyncio connections belong to the loop that made them.
        loop_id = id(asyncio.get_running_loop())
        client = self._clients.get(loop_id)
        if client is None:
            # A blocking pool: with thousands of sockets heartbeating or leaving at once, a
            # command waits (up to 5 s) for a free connection; redis-py's default pool raises
            # MaxConnectionsError at once instead (seen in the 5,000-socket bench).
            pool = aioredis.BlockingConnectionPool.from_url(
                self.url,
                socket_timeout=2,
                socket_connect_timeout=2,
                max_connections=200,
                timeout=5,
                # After a Redis restart every pooled connection is stale: a command (or a
                # pipeline) that fails to reach Redis is sent once more on a new connection.
                # Every command here is idempotent (HSET of the same expiry, HDEL, EXPIRE,
                # HGETALL); not on a timeout, so that a wedged Redis costs one wait, not two.
                retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 1, (RedisConnectionError,)),
                health_check_interval=30,
            )
            client = aioredis.Redis(connection_pool=pool)
            self._clients = {loop_id: client}
        return client

    @staticmethod
    def _key(room: str) -> str:
        return f"echo:presence:{room}"

    @staticmethod
    def _seen_key(room: str) -> str:
        return f"echo:seen:{room}"

    async def mark_seen(self, marks: list[tuple[str, int, float]]) -> None:
        """Per room a sorted set user -> time; GT: a time never moves backwards (a late sweep of
        an old entry cannot undo a leave). The whole set expires LAST_SEEN_TTL_SECONDS after
        its last write: a room's set holds its few parties, and quiet rooms go."""
        if not marks:
            return
        async with self._client().pipeline(transaction=False) as pipe:
            for room, user_id, at in marks:
                pipe.zadd(self._seen_key(room), {str(user_id): at}, gt=True)
                pipe.expire(self._seen_key(room), LAST_SEEN_TTL_SECONDS)
            await pipe.execute()

    async def remove_and_entries(
        self, room: str, field: str, seen: tuple[str, int, float]
    ) -> dict[str, float]:
        """Remove `field`, mark the last-seen time and read the room, in one round trip."""
        _, user_id, at = seen
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.hdel(self._key(room), field)
            pipe.zadd(self._seen_key(room), {str(user_id): at}, gt=True)
            pipe.expire(self._seen_key(room), LAST_SEEN_TTL_SECONDS)
            pipe.hgetall(self._key(room))
            raw = (await pipe.execute())[-1]
        return {k.decode(): float(v) for k, v in raw.items()}

    async def entries_and_seen(
        self, rooms: list[str], user_id: int
    ) -> list[tuple[dict[str, float], float | None]]:
        """Each room's entries and the user's last-seen time there, in one round trip."""
        if not rooms:
            return []
        async with self._client().pipeline(transaction=False) as pipe:
            for room in rooms:
                pipe.hgetall(self._key(room))
                pipe.zscore(self._seen_key(room), str(user_id))
            raw = await pipe.execute()
        out = []
        for i in range(len(rooms)):
            table, at = raw[2 * i], raw[2 * i + 1]
            entries = {k.decode(): float(v) for k, v in table.items()}
            out.append((entries, None if at is None else float(at)))
        return out

    async def entries(self, room: str) -> dict[str, float]:
        raw = await self._client().hgetall(self._key(room))
        return {k.decode(): float(v) for k, v in raw.items()}

    async def put(self, room: str, field: str, expires: float) -> None:
        client = self._client()
        key = self._key(room)
        async with client.pipeline(transaction=False) as pipe:
            pipe.hset(key, field, expires)
            pipe.expire(key, int(settings.LIVE_PRESENCE_TTL_SECONDS * 3))
            await pipe.execute()

    async def put_and_entries(self, room: str, field: str, expires: float) -> dict[str, float]:
        """Add `field` and read the room, atomically (MULTI/EXEC) and in one round trip: of
        concurrent callers, each sees exactly the entries put before its own."""
        client = self._client()
        key = self._key(room)
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(key, field, expires)
            pipe.expire(key, int(settings.LIVE_PRESENCE_TTL_SECONDS * 3))
            pipe.hgetall(key)
            raw = (await pipe.execute())[-1]
        return {k.decode(): float(v) for k, v in raw.items()}

    async def remove(self, room: str, fields: list[str]) -> None:
        if fields:
            await self._client().hdel(self._key(room), *fields)

    async def put_many(
        self,
        entries: list[tuple[str, str]],
        expires: float,
        seen: list[tuple[str, int, float]] | None = None,
    ) -> None:
        """Many puts, and last-seen marks, in one round trip (the process-wide heartbeat)."""
        if not entries:
            return
        ttl = int(settings.LIVE_PRESENCE_TTL_SECONDS * 3)
        async with self._client().pipeline(transaction=False) as pipe:
            for room in {room for room, _ in entries}:
                pipe.expire(self._key(room), ttl)
            for room, field in entries:
                pipe.hset(self._key(room), field, expires)
            for room, user_id, at in seen or []:
                pipe.zadd(self._seen_key(room), {str(user_id): at}, gt=True)
            for room in {room for room, _, _ in seen or []}:
                pipe.expire(self._seen_key(room), LAST_SEEN_TTL_SECONDS)
            await pipe.execute()

    async def entries_many(self, rooms: list[str]) -> list[dict[str, float]]:
        if not rooms:
            return []
        async with self._client().pipeline(transaction=False) as pipe:
            for room in rooms:
                pipe.hgetall(self._key(room))
            raws = await pipe.execute()
        return [{k.decode(): float(v) for k, v in raw.items()} for raw in raws]

    async def remove_many(self, fields_by_room: dict[str, list[str]]) -> None:
        if not any(fields_by_room.values()):
            return
        async with self._client().pipeline(transaction=False) as pipe:
            for room, fields in fields_by_room.items():
                if fields:
                    pipe.hdel(self._key(room), *fields)
            await pipe.execute()


_store: LocalPresence | RedisPresence | None = None


def store() -> LocalPresence | RedisPresence:
    global _store
    if _store is None:
        _store = RedisPresence(settings.REDIS_URL) if settings.REDIS_URL else LocalPresence()
    return _store


def reset_store() -> None:
    """Forget the backend (tests switch settings)."""
    global _store
    _store = None


async def join(*, room: str, user_id: int, role: str, channel: str) -> tuple[bool, list[Present]]:
    """Register a connection: (True if the user was not online in the room before, who is
    online now, this connection included). One round trip."""
    now = time.time()
    field = _field(user_id, role, channel)
    entries = await store().put_and_entries(room, field, now + settings.LIVE_PRESENCE_TTL_SECONDS)
    others = _online({f: e for f, e in entries.items() if f != field}, now)
    was_online = user_id in others
    users = {**others}
    users.setdefault(user_id, role)
    return not was_online, [Present(user_id=u, role=r) for u, r in sorted(users.items())]


async def leave(*, room: str, user_id: int, role: str, channel: str) -> bool:
    """Drop a connection and remember that the user was in the room until now; True if the user
    has no other live connection in the room."""
    now = time.time()
    entries = await store().remove_and_entries(
        room, _field(user_id, role, channel), (room, user_id, now)
    )
    return user_id not in _online(entries, now)


def _last_alive(entries: dict[str, float], user_id: int) -> float | None:
    """When the user's entries in a table were last refreshed (their sockets last known alive)."""
    times = [e for f, e in entries.items() if _parse(f)[0] == user_id]
    return max(times) - settings.LIVE_PRESENCE_TTL_SECONDS if times else None


def _stale_marks(room: str, stale: dict[str, float]) -> list[tuple[str, int, float]]:
    """(room, user, last alive) for the users whose stale entries are being removed."""
    marks = []
    for user_id in sorted({_parse(f)[0] for f in stale}):
        at = _last_alive(stale, user_id)
        if at is not None:
            marks.append((room, user_id, at))
    return marks


async def last_seen(*, user_id: int, rooms: list[str]) -> dict[str, Seen]:
    """For each room: is the user online there now, else when was their last socket there last
    known alive (a leave, a swept entry, or a stale entry nobody swept yet). One round trip."""
    now = time.time()
    found: dict[str, Seen] = {}
    for room, (entries, at) in zip(
        rooms, await store().entries_and_seen(rooms, user_id), strict=True
    ):
        if user_id in _online(entries, now):
            found[room] = Seen(online=True, last_seen=now)
            continue
        times = [t for t in (at, _last_alive(entries, user_id)) if t is not None]
        last = max(times) if times else None
        if last is not None and last <= now - LAST_SEEN_TTL_SECONDS:
            last = None  # forgotten (a room's set lives on while others come and go)
        found[room] = Seen(online=False, last_seen=last)
    return found


async def sweep(*, room: str) -> list[Present]:
    """Remove stale entries; return the users who thereby went offline."""
    return (await sweep_many([room])).get(room, [])


async def sweep_many(rooms: list[str]) -> dict[str, list[Present]]:
    """`sweep` for many rooms in two round trips: {room: users who went offline}."""
    now = time.time()
    tables = await store().entries_many(rooms)
    stale_by_room = {
        room: [field for field, expires in entries.items() if expires <= now]
        for room, entries in zip(rooms, tables, strict=True)
    }
    await store().remove_many({room: stale for room, stale in stale_by_room.items() if stale})
    await store().mark_seen(
        [
            mark
            for room, entries in zip(rooms, tables, strict=True)
            for mark in _stale_marks(room, {f: entries[f] for f in stale_by_room[room]})
        ]
    )
    gone_by_room: dict[str, list[Present]] = {}
    for room, entries in zip(rooms, tables, strict=True):
        if not stale_by_room[room]:
            continue
        still_online = _online(entries, now)
        gone: dict[int, str] = {}
        for field in stale_by_room[room]:
            user_id, role, _ = _parse(field)
            if user_id not in still_online:
                gone[user_id] = role
        if gone:
            gone_by_room[room] = [Present(user_id=u, role=r) for u, r in gone.items()]
    return gone_by_room


async def refresh_many(entries: list[tuple[str, str]]) -> None:
    """Refresh many (room, field) entries at once (the process-wide heartbeat), and remember
    that their users were in those rooms now (so a process killed with its sockets leaves a
    last-seen time behind even after its entries are gone)."""
    now = time.time()
    seen = {(room, _parse(field)[0]) for room, field in entries if not room.startswith(_SOCKETS)}
    await store().put_many(
        entries,
        now + settings.LIVE_PRESENCE_TTL_SECONDS,
        seen=[(room, user_id, now) for room, user_id in sorted(seen)],
    )


def room_field(*, user_id: int, role: str, channel: str) -> str:
    return _field(user_id, role, channel)


def socket_entry(*, user_id: int, channel: str) -> tuple[str, str]:
    """The (room, field) that counts one of a user's sockets."""
    return f"{_SOCKETS}{user_id}", _field(user_id, "socket", channel)


async def online(*, room: str) -> list[Present]:
    users = _online(await store().entries(room), time.time())
    return [Present(user_id=u, role=r) for u, r in sorted(users.items())]


async def sockets_open(*, user_id: int, channel: str) -> int:
    """Count a user's live socket; returns how many they hold now, this one included.

    The count and the registration are one atomic step: of any number of concurrent handshakes,
    each counts exactly the sockets registered before it, so no burst gets past the cap.
    """
    now = time.time()
    field = _field(user_id, "socket", channel)
    entries = await store().put_and_entries(
        f"{_SOCKETS}{user_id}", field, now + settings.LIVE_PRESENCE_TTL_SECONDS
    )
    return 1 + sum(1 for f, expires in entries.items() if expires > now and f != field)


async def sockets_close(*, user_id: int, channel: str) -> None:
    await store().remove(f"{_SOCKETS}{user_id}", [_field(user_id, "socket", channel)])


def purge_stale(*, now: float | None = None) -> int:
    """Remove stale entries from every room's table (a periodic clean-up, sync code): entries of
    sockets that died without leaving, in rooms nobody reads any more. Only the shared Redis
    tables: a process's own table is swept by its heartbeat."""
    if not settings.REDIS_URL:
        return 0
    now = time.time() if now is None else now
    removed = 0
    client = redis_sync.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    try:
        for key in client.scan_iter(match=RedisPresence._key("*"), count=500):
            stale = {
                (field.decode() if isinstance(field, bytes) else str(field)): float(expires)
                for field, expires in client.hgetall(key).items()
                if float(expires) <= now
            }
            if stale:
                name = key.decode() if isinstance(key, bytes) else str(key)
                room = name.removeprefix(RedisPresence._key(""))
                with client.pipeline(transaction=False) as pipe:
                    pipe.hdel(key, *stale)
                    if not room.startswith(_SOCKETS):  # rooms only: notify reads those
                        for _, user_id, at in _stale_marks(room, stale):
                            seen = RedisPresence._seen_key(room)
                            pipe.zadd(seen, {str(user_id): at}, gt=True)
                            pipe.expire(seen, LAST_SEEN_TTL_SECONDS)
                    removed += int(pipe.execute()[0])
    finally:
        client.close()
    return removed
