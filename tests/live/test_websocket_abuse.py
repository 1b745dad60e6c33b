"""Websocket abuse against a real daphne (python -m echo_site.serve) on PostgreSQL and Redis.

The unit-level versions (channels' WebsocketCommunicator) are in tests/chat/; these go over TCP
through daphne's own handshake, frame limits and process boundaries.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from orders.models import Message
from tests.chat.conftest import bearer

from .conftest import next_frame, ws_connect
from .servers import http_json

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def close_code(ws: Any, timeout: float = 10) -> int | None:
    """Read until the server closes; the close code it sent."""

    async def drain() -> None:
        while True:
            await ws.recv()

    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(drain(), timeout)
    return ws.close_code


async def ws_with_cookie(url: str, cookie: str, origin: str) -> Any:
    return await connect(url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=10)


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.fixture
def server(start_daphne: Any) -> Any:
    return start_daphne()


# --- Handshake --------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
async def test_session_cookie_with_a_foreign_or_null_origin_is_refused_403(
    server, buyer, order, origin
):
    cookie = await database_sync_to_async(session_cookie)(buyer)
    with pytest.raises(InvalidStatus) as refused:
        await ws_with_cookie(f"{server.ws}/ws/orders/{order.pk}/", cookie, origin)
    assert refused.value.response.status_code == 403


async def test_session_cookie_with_our_origin_is_accepted(server, buyer, order):
    cookie = await database_sync_to_async(session_cookie)(buyer)
    ws = await ws_with_cookie(f"{server.ws}/ws/orders/{order.pk}/", cookie, server.http)
    assert (await next_frame(ws, "hello"))["you"]["role"] == "buyer"
    await ws.close()


def _forged(user: Any) -> str:
    return jwt.encode(
        {"token_type": "access", "user_id": str(user.pk), "exp": 4102444800, "jti": "x"},
        "not-our-secret-but-long-enough-for-hs256-0123456789",
        algorithm="HS256",
    )


def _alg_none(user: Any) -> str:
    return jwt.encode(
        {"token_type": "access", "user_id": str(user.pk), "exp": 4102444800, "jti": "x"},
        key=None,
        algorithm="none",
    )


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda u: None, id="missing"),
        pytest.param(lambda u: bearer(u, lifetime=timedelta(seconds=-5)), id="expired"),
        pytest.param(_forged, id="forged"),
        pytest.param(_alg_none, id="alg-none"),
        pytest.param(lambda u: "garbage.not.ajwt", id="garbage"),
    ],
)
async def test_bad_or_missing_jwt_closes_4401(server, buyer, order, make_token):
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=make_token(buyer))
    assert await close_code(ws) == 4401


async def test_a_reused_ticket_closes_4401(server, buyer, order):
    status, body = await asyncio.to_thread(
        http_json, "POST", f"{server.http}/api/ws-ticket", token=bearer(buyer)
    )
    assert status == 200, body
    url = f"{server.ws}/ws/orders/{order.pk}/?ticket={body['ticket']}"
    first = await ws_connect(url, origin=server.http)
    await next_frame(first, "hello")
    second = await ws_connect(url, origin=server.http)
    assert await close_code(second) == 4401
    await first.close()


async def test_an_expired_ticket_closes_4401(server, buyer, order):
    status, body = await asyncio.to_thread(
        http_json, "POST", f"{server.http}/api/ws-ticket", token=bearer(buyer)
    )
    assert status == 200, body
    # Let the ticket's 30 s lifetime run out in Redis, where every process reads it.
    r = redis.Redis.from_url(settings.REDIS_URL)
    keys = [k for k in r.scan_iter(match=f"*wsticket:{body['ticket']}", count=1000)]
    assert len(keys) == 1
    r.pexpire(keys[0], 1)
    await asyncio.sleep(0.05)
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/?ticket={body['ticket']}")
    assert await close_code(ws) == 4401


async def test_joining_another_orders_room_closes_4403(server, outsider, order):
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(outsider))
    assert await close_code(ws) == 4403


async def test_a_token_expiring_mid_connection_closes_4401(server, buyer, order):
    ws = await ws_connect(
        f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer, lifetime=timedelta(seconds=3))
    )
    await next_frame(ws, "hello")
    assert await close_code(ws, timeout=10) == 4401


# --- Frames -----------------------------------------------------------------------------------


async def test_binary_empty_and_malformed_frames_get_error_frames_and_the_socket_stays(
    server, buyer, order
):
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer))
    await next_frame(ws, "hello")
    bad = [
        (b"\x00\x01binary", "binary_not_supported"),
        ("", "empty_frame"),
        ("{not json", "malformed_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"type": 5}', "invalid_frame"),
        ('{"type": "no.such.type"}', "unknown_type"),
        ('{"type": "message.send", "content": 5}', None),
    ]
    for frame, code in bad:
        await ws.send(frame)
        error = await next_frame(ws, "error")
        if code is not None:
            assert error["code"] == code, (frame, error)
    await ws.send(json.dumps({"type": "ping"}))
    await next_frame(ws, "pong", skip=frozenset({"presence", "typing", "read"}))
    deep = "[" * 30_000  # under 64 KiB, deeper than any parser allows
    await ws.send(deep)
    assert (await next_frame(ws, "error"))["code"] == "malformed_json"
    await ws.send(json.dumps({"type": "ping"}))
    await next_frame(ws, "pong", skip=frozenset({"presence", "typing", "read"}))
    assert await database_sync_to_async(Message.objects.filter(order=order).count)() == 0
    await ws.close()


async def test_an_oversized_frame_closes_1009(server, buyer, order):
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer), max_size=None)
    await next_frame(ws, "hello")
    await ws.send(json.dumps({"type": "message.send", "content": "x" * 70_000, "client_id": "big"}))
    assert await close_code(ws) == 1009
    assert await database_sync_to_async(Message.objects.filter(order=order).count)() == 0


async def test_a_flood_is_rate_limited_and_nothing_beyond_the_limit_is_stored(server, buyer, order):
    limit = settings.LIVE_MESSAGES_PER_WINDOW
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer))
    await next_frame(ws, "hello")
    for i in range(limit + 15):
        await ws.send(
            json.dumps({"type": "message.send", "content": f"m{i}", "client_id": f"f{i}"})
        )
    acks, limited = 0, 0
    while acks + limited < limit + 15:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == "message.ack":
            acks += 1
        elif frame["type"] == "error":
            assert frame["code"] == "rate_limited", frame
            limited += 1
    assert (acks, limited) == (limit, 15)
    assert await database_sync_to_async(Message.objects.filter(order=order).count)() == limit
    await ws.send(json.dumps({"type": "ping"}))  # still open, still answering
    await next_frame(ws, "pong", skip=frozenset({"presence", "typing", "read", "message.new"}))
    await ws.close()


async def test_sending_into_a_closed_order_is_an_error_and_the_socket_stays(
    server, buyer, make_order
):
    order = await database_sync_to_async(make_order)("CANCELLED")
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer))
    await next_frame(ws, "hello")
    await ws.send(json.dumps({"type": "message.send", "content": "hello?", "client_id": "c1"}))
    error = await next_frame(ws, "error")
    assert error["code"] == "order_closed"
    await ws.send(json.dumps({"type": "sync", "after_seq": 0}))  # reading still works
    await ws.send(json.dumps({"type": "ping"}))
    await next_frame(
        ws, "pong", skip=frozenset({"presence", "typing", "read", "sync.done", "order.status"})
    )
    assert await database_sync_to_async(Message.objects.filter(order=order).count)() == 0
    await ws.close()


# --- The per-user connection cap --------------------------------------------------------------


async def test_500_connections_from_one_user_stop_at_the_cap(start_daphne, buyer, order):
    server = start_daphne()
    cap = settings.LIVE_MAX_SOCKETS_PER_USER
    token = bearer(buyer, lifetime=timedelta(minutes=10))
    gate = asyncio.Semaphore(100)  # bounded: at most 100 handshakes in flight

    async def one() -> tuple[Any, str | int]:
        async with gate:
            ws = await ws_connect(f"{server.ws}/ws/notifications/", token=token)
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
                return ws, frame["type"]
            except ConnectionClosed:
                return ws, int(ws.close_code or 0)

    results = await asyncio.gather(*(one() for _ in range(500)))
    outcomes = [outcome for _, outcome in results]
    try:
        assert outcomes.count("hello") == cap, {o: outcomes.count(o) for o in set(outcomes)}
        assert outcomes.count(4429) == 500 - cap
    finally:
        await asyncio.gather(*(ws.close() for ws, _ in results), return_exceptions=True)
    # Closing frees the slots: a new connection is welcome again.
    await asyncio.sleep(0.5)
    ws = await ws_connect(f"{server.ws}/ws/notifications/", token=token)
    assert (await next_frame(ws, "hello"))["type"] == "hello"
    await ws.close()
