"""Faults injected into the real services: PostgreSQL connections killed, a daphne killed.

Redis stopped, restarted and wedged: tests/live/test_redis_outage.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection
from websockets.exceptions import ConnectionClosed

from tests.chat.conftest import bearer

from .conftest import next_frame, ws_connect
from .servers import http_json

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


# --- PostgreSQL ---------------------------------------------------------------------------------


def _admin() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db.get("HOST") or "127.0.0.1",
        port=int(db.get("PORT") or 5432),
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )


@pytest.fixture
def postgres_faults() -> Iterator[Any]:
    """kill(): terminate every connection to the test database but this test's own;
    refuse(flag): refuse (or accept again) new connections to it."""
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ours = cursor.fetchone()[0]
    admin = _admin()

    class Faults:
        def kill(self) -> int:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> %s AND pid <> pg_backend_pid()",
                (name, ours),
            ).fetchall()
            return len(rows)

        def refuse(self, refusing: bool) -> None:
            allow = "false" if refusing else "true"
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {allow}')

    try:
        yield Faults()
    finally:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        admin.close()
        # This process's own pool lost its connections too, and retries with a growing backoff:
        # the next test starts on a new pool.
        connection.close()
        connection.close_pool()


def _timed(method: str, url: str, **kwargs: Any) -> tuple[int, Any, float]:
    started = time.monotonic()
    status, body = http_json(method, url, timeout=15, **kwargs)
    return status, body, time.monotonic() - started


def test_killed_postgres_connections_fail_with_503_json_and_the_service_recovers_by_itself(
    start_daphne, buyer, order, postgres_faults
):
    server = start_daphne(DB_POOL_TIMEOUT_SECONDS="2")
    token = bearer(buyer)
    orders_url = f"{server.http}/api/orders"
    messages_url = f"{server.http}/api/orders/{order.pk}/messages"
    assert http_json("GET", orders_url, token=token)[0] == 200  # daphne holds a connection now

    postgres_faults.refuse(True)
    killed = postgres_faults.kill()
    assert killed >= 1
    for method, url, body in [
        ("GET", orders_url, None),
        ("GET", messages_url, None),
        ("POST", messages_url, {"content": "during the outage", "client_id": "outage-1"}),
        ("GET", f"{server.http}/api/items", None),
    ]:
        status, answer, took = _timed(method, url, token=token, body=body)
        assert status == 503, (method, url, status, answer)
        assert answer["code"] == "service_unavailable", answer
        # Pooled: the wait for a connection is DB_POOL_TIMEOUT_SECONDS (2 s here), then 503.
        assert took < 3, f"{method} {url} took {took:.1f} s"

    postgres_faults.refuse(False)
    # No restart: within a few seconds the next requests find the database again.
    deadline = time.monotonic() + 15
    status = 0
    while time.monotonic() < deadline:
        status, _ = http_json("GET", orders_url, token=token)
        if status == 200:
            break
        assert status == 503
        time.sleep(0.2)
    assert status == 200
    status, message = http_json(
        "POST", messages_url, token=token, body={"content": "after", "client_id": "after-1"}
    )
    assert status == 201, message
    assert http_json("GET", f"{server.http}/healthz")[0] == 200


def test_connections_killed_between_requests_never_give_a_500(
    start_daphne, buyer, order, postgres_faults
):
    server = start_daphne()
    token = bearer(buyer)
    url = f"{server.http}/api/orders/{order.pk}/messages"
    statuses = []
    for round_ in range(5):
        assert postgres_faults.kill() >= 0
        for i in range(4):
            status, body = http_json(
                "POST", url, token=token, body={"content": "hi", "client_id": f"r{round_}-{i}"}
            )
            assert status in (201, 503), (status, body)
            statuses.append(status)
    # Killed connections are replaced at once: most requests succeed, none is a 500.
    assert statuses.count(201) >= len(statuses) - 5, statuses


# --- A daphne process killed ----------------------------------------------------------------------


def _seq(frame: dict[str, Any]) -> int | None:
    for key in ("message", "event"):
        if isinstance(frame.get(key), dict) and "seq" in frame[key]:
            return int(frame[key]["seq"])
    return None


@pytest.mark.asyncio
async def test_a_killed_daphne_its_clients_resume_on_the_other_process_with_no_gap(
    start_daphne, buyer, creator, order
):
    doomed, survivor = start_daphne(), start_daphne()
    b = await ws_connect(f"{survivor.ws}/ws/orders/{order.pk}/", token=bearer(buyer))
    c = await ws_connect(f"{doomed.ws}/ws/orders/{order.pk}/", token=bearer(creator))
    await next_frame(b, "hello")
    await next_frame(c, "hello")
    seen: list[int] = []
    for i in range(5):
        await b.send(json.dumps({"type": "message.send", "content": f"m{i}", "client_id": f"a{i}"}))
        await next_frame(b, "message.ack")
        seen.append(_seq(await next_frame(c, "message.new")) or 0)
    assert seen == [1 + s for s in range(seen[0] - 1, seen[0] + 4)]

    doomed.kill()  # SIGKILL: no close frames, no cleanup
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(c.recv(), 10)

    # While the creator is away: messages over the socket and over REST, on the survivor.
    for i in range(5, 10):
        await b.send(json.dumps({"type": "message.send", "content": f"m{i}", "client_id": f"a{i}"}))
        await next_frame(b, "message.ack")
    status, _ = await asyncio.to_thread(
        http_json,
        "POST",
        f"{survivor.http}/api/orders/{order.pk}/messages",
        token=bearer(buyer),
        body={"content": "over REST", "client_id": "rest-1"},
    )
    assert status == 201

    # The client reconnects to the other process and resumes after the last seq it saw.
    c = await ws_connect(
        f"{survivor.ws}/ws/orders/{order.pk}/?after_seq={seen[-1]}", token=bearer(creator)
    )
    await next_frame(c, "hello")
    resumed: list[int] = []
    while True:
        frame = json.loads(await asyncio.wait_for(c.recv(), 10))
        if frame["type"] == "sync.done":
            break
        seq = _seq(frame)
        if seq is not None:
            resumed.append(seq)
    # ...and the live stream continues from there.
    await b.send(json.dumps({"type": "message.send", "content": "live", "client_id": "live"}))
    resumed.append(_seq(await next_frame(c, "message.new")) or 0)
    assert resumed == list(range(seen[-1] + 1, seen[-1] + 8)), resumed
    await b.close()
    await c.close()
