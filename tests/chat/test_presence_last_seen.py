"""Presence remembers when a user last had a socket in a room (notify's "no socket on that order
for N minutes"): while connected, on leaving, and when a dead socket's entry is swept; never
backwards; forgotten after LAST_SEEN_TTL_SECONDS, so the table never grows without bound."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import redis
import time_machine
from asgiref.sync import async_to_sync
from django.conf import settings

from chat import presence

ROOM = "order.424242"
USER = 7


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(f"echo:presence:{ROOM}", f"echo:seen:{ROOM}", f"echo:presence:sockets.{USER}")
        client.close()


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def join(channel: str = "c1") -> None:
    async_to_sync(presence.join)(room=ROOM, user_id=USER, role="buyer", channel=channel)


def leave(channel: str = "c1") -> None:
    async_to_sync(presence.leave)(room=ROOM, user_id=USER, role="buyer", channel=channel)


def seen(room: str = ROOM) -> presence.Seen:
    return async_to_sync(presence.last_seen)(user_id=USER, rooms=[room])[room]


def test_connected_is_online_and_leaving_is_remembered():
    t0 = time.time()
    assert seen() == presence.Seen(online=False, last_seen=None)
    join()
    assert seen().online
    with time_machine.travel(at(t0 + 120), tick=False):
        leave()
    with time_machine.travel(at(t0 + 300), tick=False):
        assert seen() == presence.Seen(online=False, last_seen=pytest.approx(t0 + 120, abs=1))


def test_another_tab_still_open_keeps_the_user_online():
    join("tab-1")
    join("tab-2")
    leave("tab-1")
    assert seen().online


def test_the_heartbeat_records_while_connected_so_a_killed_process_leaves_a_time():
    t0 = time.time()
    join()
    field = presence.room_field(user_id=USER, role="buyer", channel="c1")
    with time_machine.travel(at(t0 + 30), tick=False):
        async_to_sync(presence.refresh_many)([(ROOM, field)])
    # The process dies with the socket: its entry is gone (the Redis hash expired) unswept.
    async_to_sync(presence.store().remove)(ROOM, [field])
    with time_machine.travel(at(t0 + 600), tick=False):
        assert seen() == presence.Seen(online=False, last_seen=pytest.approx(t0 + 30, abs=1))


def test_a_stale_entry_counts_until_it_was_last_alive_and_its_sweep_keeps_that_time():
    t0 = time.time()
    with time_machine.travel(at(t0), tick=False):
        join("dead")  # never leaves
    with time_machine.travel(at(t0 + 600), tick=False):
        assert seen() == presence.Seen(online=False, last_seen=pytest.approx(t0, abs=1))
        gone = async_to_sync(presence.sweep_many)([ROOM])
        assert [p.user_id for p in gone[ROOM]] == [USER]
        assert async_to_sync(presence.store().entries)(ROOM) == {}
        assert seen() == presence.Seen(online=False, last_seen=pytest.approx(t0, abs=1))


def test_a_late_older_time_never_moves_last_seen_backwards():
    t0 = time.time()
    with time_machine.travel(at(t0 + 60), tick=False):
        leave()
    async_to_sync(presence.store().mark_seen)([(ROOM, USER, t0)])  # e.g. a slow sweep
    assert seen().last_seen == pytest.approx(t0 + 60, abs=1)


def test_last_seen_is_forgotten_after_its_ttl():
    t0 = time.time()
    leave()
    with time_machine.travel(at(t0 + presence.LAST_SEEN_TTL_SECONDS + 60), tick=False):
        assert seen() == presence.Seen(online=False, last_seen=None)


def test_the_process_store_drops_expired_times():
    if settings.REDIS_URL:
        pytest.skip("the process store is used without REDIS_URL")
    t0 = time.time()
    leave()
    with time_machine.travel(at(t0 + presence.LAST_SEEN_TTL_SECONDS + 120), tick=False):
        async_to_sync(presence.store().mark_seen)([("order.1", 1, time.time())])
    assert ROOM not in presence.store().seen  # type: ignore[union-attr]


def test_a_users_socket_table_is_no_room():
    room, field = presence.socket_entry(user_id=USER, channel="c1")
    async_to_sync(presence.refresh_many)([(room, field)])
    async_to_sync(presence.store().remove)(room, [field])
    assert seen(room).last_seen is None


@pytest.mark.services
def test_in_redis_the_times_expire_with_their_room_and_the_clean_up_keeps_them():
    leave()
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        assert 0 < client.ttl(f"echo:seen:{ROOM}") <= presence.LAST_SEEN_TTL_SECONDS
        t0 = time.time()
        with time_machine.travel(at(t0 - 600), tick=False):
            join("dead")  # a socket of a killed process, last alive 10 minutes ago
        client.delete(f"echo:seen:{ROOM}")
        assert presence.purge_stale() >= 1
        assert client.hgetall(f"echo:presence:{ROOM}") == {}
    finally:
        client.close()
    assert seen().last_seen == pytest.approx(t0 - 600, abs=1)
