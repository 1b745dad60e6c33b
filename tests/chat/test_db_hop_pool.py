"""The live layer's database threads and the process's connection pool: a thread keeps the
pooled connection it took between calls, and every one goes back to the pool when the loop that
owns the threads closes, so loops that come and go never exhaust the pool."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.conf import settings
from django.db import connection

from chat import db

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def checked_out() -> int:
    stats = connection.pool.get_stats()
    return int(stats["pool_size"] - stats["pool_available"])


async def four_calls_at_once() -> set[int]:
    barrier = threading.Barrier(4, timeout=5)

    def meet() -> int:
        barrier.wait()
        return backend_pid()

    return set(await asyncio.gather(*(db.in_db_thread(meet)() for _ in range(4))))


def test_a_thread_keeps_its_connection_between_calls() -> None:
    assert connection.pool is not None, "the services pass runs on the pool"

    async def same_thread_twice() -> tuple[int, int]:
        first = await db.in_db_thread(backend_pid)()
        return first, await db.in_db_thread(backend_pid)()

    settings_threads = settings.LIVE_DB_THREADS
    try:
        settings.LIVE_DB_THREADS = 1
        first, second = asyncio.run(same_thread_twice())
    finally:
        settings.LIVE_DB_THREADS = settings_threads
    assert first == second


def test_closing_the_loop_hands_every_thread_connection_back_to_the_pool() -> None:
    assert connection.pool is not None, "the services pass runs on the pool"
    connection.close()  # this test's own connection back first: count only the threads'
    before = checked_out()
    for _ in range(6):  # 6 loops x 4 threads: far over DB_POOL_MAX if any leaked
        assert len(asyncio.run(four_calls_at_once())) == 4
        assert checked_out() == before
