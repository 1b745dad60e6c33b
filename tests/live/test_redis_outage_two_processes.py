"""Redis killed (SIGKILL) and restarted under two daphne processes: every endpoint keeps a
defined degraded mode, revocation holds through the outage, and nothing trips on a stale
pooled connection afterwards (docs/reliability.md, "Component down")."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from rest_framework_simplejwt.tokens import RefreshToken
from websockets.asyncio.client import ClientConnection

from tests.chat.conftest import bearer

from .conftest import next_frame, ws_connect
from .servers import http_json

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_TRY_AGAIN_LATER = 4503


async def close_code(ws: ClientConnection, timeout: float = 10) -> int | None:
    """Read until the server closes the socket; its close code."""

    async def drain() -> None:
        while True:
            await ws.recv()

    with pytest.raises(Exception):  # noqa: B017 - the close itself; its code is returned
        await asyncio.wait_for(drain(), timeout)
    return ws.close_code


async def messages_until(ws: ClientConnection, content: str, timeout: float = 15) -> list[Any]:
    """The message.new frames up to and including the one with `content`."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        frame = await next_frame(ws, "message.new", timeout=max(0.1, deadline - time.monotonic()))
        got.append(frame["message"])
        if frame["message"]["content"] == content:
            return got


async def rest(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    return await asyncio.to_thread(http_json, method, url, **kwargs)


async def test_new_sockets_and_rest_writes_during_the_outage_on_two_processes(
    start_daphne, private_redis, buyer, creator, order
):
    one, two = start_daphne(private_redis.url), start_daphne(private_redis.url)
    buyer_token, creator_token = bearer(buyer), bearer(creator)
    room = f"/ws/orders/{order.pk}/"
    status, body = await rest("POST", f"{one.http}/api/ws-ticket", token=buyer_token)
    assert status == 200, body
    ticket = body["ticket"]
    # Process one follows the room before the outage; process two follows nothing yet.
    b = await ws_connect(f"{one.ws}{room}", token=buyer_token)
    await next_frame(b, "hello")

    private_redis.stop()

    # A new socket on a process that follows neither the user nor the room: served from the
    # database (its hello, its sends), not closed with 1011.
    c = await ws_connect(f"{two.ws}{room}", token=creator_token)
    hello = await next_frame(c, "hello")
    assert hello["order_id"] == order.pk
    await c.send(json.dumps({"type": "message.send", "content": "ws during", "client_id": "c1"}))
    ack = await next_frame(c, "message.ack", skip=frozenset({"presence", "message.new"}))
    assert ack["message"]["content"] == "ws during"
    # A second new socket on process one (the sockets group of the creator is new there).
    c_one = await ws_connect(f"{one.ws}{room}", token=creator_token)
    assert (await next_frame(c_one, "hello"))["last_seq"] >= 1

    # A ticket cannot be redeemed while its store is down: refused with "try again later".
    t = await ws_connect(f"{one.ws}{room}?ticket={ticket}", origin=one.http)
    assert await close_code(t) == CLOSE_TRY_AGAIN_LATER

    # REST writes commit on both processes; only their broadcasts are skipped.
    for server, text in ((one, "rest on one"), (two, "rest on two")):
        status, body = await rest(
            "POST",
            f"{server.http}/api/orders/{order.pk}/messages",
            token=buyer_token,
            body={"content": text},
        )
        assert status == 201, body
    # The socket on process two hears of them from the database (the heartbeat's tail check).
    got = await messages_until(c, "rest on two", timeout=10)

    private_redis.start()

    # Live again across processes; nothing is missing or repeated.
    await b.send(json.dumps({"type": "message.send", "content": "after", "client_id": "b9"}))
    got += await messages_until(c, "after", timeout=20)
    seqs = [m["seq"] for m in got]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert [m["content"] for m in got][-3:] == ["rest on one", "rest on two", "after"]

    # A move over REST on process two reaches the socket on process one.
    status, body = await rest(
        "PATCH",
        f"{two.http}/api/orders/{order.pk}/status",
        token=buyer_token,
        body={"status": "CANCELLED", "note": "after the outage"},
    )
    assert status == 200, body
    skip = frozenset({"presence", "typing", "read", "message.new", "message.ack"})
    frame = await next_frame(b, "order.status", timeout=20, skip=skip)
    assert frame["order"]["status"] == "CANCELLED"
    for ws in (b, c, c_one):
        await ws.close()


async def test_logout_during_the_outage_closes_the_users_sockets_on_both_processes(
    start_daphne, private_redis, buyer, creator, order
):
    one, two = start_daphne(private_redis.url), start_daphne(private_redis.url)
    refresh = await database_sync_to_async(RefreshToken.for_user)(buyer)
    token = str(refresh.access_token)
    room = f"/ws/orders/{order.pk}/"
    on_one = await ws_connect(f"{one.ws}{room}", token=token)
    on_two = await ws_connect(f"{two.ws}{room}", token=token)
    for ws in (on_one, on_two):
        await next_frame(ws, "hello")
    creator_socket = await ws_connect(f"{two.ws}{room}", token=bearer(creator))
    await next_frame(creator_socket, "hello")

    private_redis.stop()
    await asyncio.sleep(
        1.1
    )  # the logout's second is later than the token's (JWT times are whole seconds)

    status, body = await rest(
        "POST", f"{one.http}/api/auth/logout", token=token, body={"refresh": str(refresh)}
    )
    assert status == 204, body
    # Closed by each process's heartbeat from the database (1 s here), Redis still down.
    codes = await asyncio.gather(close_code(on_one, 8), close_code(on_two, 8))
    assert codes == [CLOSE_NOT_AUTHENTICATED, CLOSE_NOT_AUTHENTICATED]

    private_redis.start()
    # The revoked access token opens no new socket on either process.
    for server in (one, two):
        again = await ws_connect(f"{server.ws}{room}", token=token)
        assert await close_code(again) == CLOSE_NOT_AUTHENTICATED
    # Another user's socket was left alone, and a fresh login works.
    await creator_socket.send(json.dumps({"type": "ping"}))
    await next_frame(creator_socket, "pong")
    fresh = await ws_connect(f"{two.ws}{room}", token=bearer(buyer))
    await next_frame(fresh, "hello")
    for ws in (creator_socket, fresh):
        await ws.close()


async def test_after_a_restart_counts_presence_and_the_cache_work_on_first_use(
    start_daphne, private_redis, buyer, creator, order
):
    extra = {"LIVE_MAX_SOCKETS_PER_USER": "2"}
    one = start_daphne(private_redis.url, **extra)
    two = start_daphne(private_redis.url, **extra)
    buyer_token, creator_token = bearer(buyer), bearer(creator)
    room = f"/ws/orders/{order.pk}/"
    # Warm every pool: presence, socket counts and the cache on both processes.
    warm = []
    for server in (one, two):
        status, body = await rest("POST", f"{server.http}/api/ws-ticket", token=buyer_token)
        assert status == 200, body
        for token in (buyer_token, creator_token):
            ws = await ws_connect(f"{server.ws}{room}", token=token)
            await next_frame(ws, "hello")
            warm.append(ws)
    for ws in warm:
        await ws.close()
    await asyncio.sleep(0.5)  # their leaves reach Redis

    private_redis.stop()
    private_redis.start()  # every pooled connection is now stale

    # The cache answers on the first use of its stale connection, on both processes.
    for server in (one, two):
        status, body = await rest("POST", f"{server.http}/api/ws-ticket", token=buyer_token)
        assert status == 200, body
    # Presence is right for every socket opened after the restart.
    c = await ws_connect(f"{two.ws}{room}", token=creator_token)
    assert [p["user_id"] for p in (await next_frame(c, "hello"))["online"]] == [creator.pk]
    b1 = await ws_connect(f"{one.ws}{room}", token=buyer_token)
    online = {p["user_id"] for p in (await next_frame(b1, "hello"))["online"]}
    assert online == {buyer.pk, creator.pk}
    frame = await next_frame(c, "presence", skip=frozenset({"typing"}))
    while frame["user_id"] != buyer.pk:  # its own announcement comes first
        frame = await next_frame(c, "presence", skip=frozenset({"typing"}))
    assert frame["online"] is True
    # And every one of them counts toward the per-user cap, across processes.
    b2 = await ws_connect(f"{two.ws}{room}", token=buyer_token)
    await next_frame(b2, "hello")
    b3 = await ws_connect(f"{one.ws}{room}", token=buyer_token)
    assert await close_code(b3) == 4429
    for ws in (c, b1, b2):
        await ws.close()
