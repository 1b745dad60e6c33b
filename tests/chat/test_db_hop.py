"""The live layer's database hop (chat/db.py): calls run in parallel, each thread on its own
connection, and a connection that died while idle is replaced before it fails a call."""

from __future__ import annotations

import asyncio
import threading

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from chat import db

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


async def test_calls_run_in_parallel_on_their_own_connections():
    barrier = threading.Barrier(4, timeout=5)  # breaks unless four calls run at the same time

    def meet() -> int:
        barrier.wait()
        return backend_pid()

    pids = await asyncio.gather(*(db.in_db_thread(meet)() for _ in range(4)))
    assert len(set(pids)) == 4


async def test_a_connection_killed_while_idle_is_replaced_before_the_next_call(monkeypatch):
    monkeypatch.setattr(db, "HEALTH_CHECK_IDLE_SECONDS", 0.0)  # every call counts as idle
    monkeypatch.setattr(settings, "LIVE_DB_THREADS", 1)  # one thread: the same connection
    loop = asyncio.get_running_loop()
    db._pools.pop(loop, None)
    first = await db.in_db_thread(backend_pid)()
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [first])
    second = await db.in_db_thread(backend_pid)()
    assert second != first
    db._pools.pop(loop, None)


async def test_broadcasts_committed_in_a_call_go_out_in_order_even_if_it_then_raises():
    from channels.layers import get_channel_layer
    from django.db import transaction

    from echo_site import realtime

    layer = get_channel_layer()
    listener = await layer.new_channel()
    await layer.group_add("hop-test", listener)
    await asyncio.sleep(0.1)

    def commit_twice_then_fail() -> None:
        for n in (1, 2):
            with transaction.atomic():
                realtime.broadcast_on_commit(groups=["hop-test"], event="probe", data={"n": n})
        raise ValueError("after the commits")

    with pytest.raises(ValueError, match="after the commits"):
        await db.in_db_thread(commit_twice_then_fail)()
    received = [await asyncio.wait_for(layer.receive(listener), 5) for _ in range(2)]
    assert [m["data"]["n"] for m in received] == [1, 2]
    await layer.group_discard("hop-test", listener)
