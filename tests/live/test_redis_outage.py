"""Redis stops, hangs, and comes back: writes keep working, clients catch up with sync."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest

from tests.chat.conftest import bearer

from .conftest import next_frame, ws_connect
from .servers import free_port, http_json

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def seqs_until_sync_done(ws) -> list[int]:
    seqs = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == "sync.done":
            return seqs
        if frame["type"] == "message.new":
            seqs.append(frame["message"]["seq"])


async def test_redis_stopped_and_restarted_mid_conversation(
    start_daphne, private_redis, buyer, creator, order
):
    server = start_daphne(redis_url=private_redis.url)
    buyer_token, creator_token = bearer(buyer), bearer(creator)
    b = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=buyer_token)
    c = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=creator_token)
    await next_frame(b, "hello")
    await next_frame(c, "hello")
    await b.send(json.dumps({"type": "message.send", "content": "before", "client_id": "m0"}))
    await next_frame(b, "message.ack")
    await next_frame(c, "message.new")

    private_redis.stop()

    # REST still stores and answers 201, within a bound.
    started = time.monotonic()
    status, body = await asyncio.to_thread(
        http_json,
        "POST",
        f"{server.http}/api/orders/{order.pk}/messages",
        token=buyer_token,
        body={"content": "during the outage (REST)", "client_id": "r1"},
    )
    assert status == 201, body
    assert time.monotonic() - started < 5
    # A websocket sender still gets its ack with the stored message.
    await b.send(json.dumps({"type": "message.send", "content": "during (ws)", "client_id": "m1"}))
    ack = await next_frame(
        b, "message.ack", skip=frozenset({"presence", "typing", "read", "message.new", "pong"})
    )
    assert ack["message"]["content"] == "during (ws)"

    private_redis.start()  # same port, empty: every subscription is gone

    # New connections work without a restart, and a client catches up with sync.
    deadline = time.monotonic() + 20
    while True:
        try:
            c2 = await ws_connect(
                f"{server.ws}/ws/orders/{order.pk}/?after_seq=1", token=creator_token
            )
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
    hello = await next_frame(c2, "hello")
    assert hello["last_seq"] == 4
    assert await seqs_until_sync_done(c2) == [2, 3, 4]

    # And the live stream flows again between the new connections.
    b2 = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=buyer_token)
    await next_frame(b2, "hello")
    await b2.send(json.dumps({"type": "message.send", "content": "after", "client_id": "m2"}))
    await next_frame(b2, "message.ack")
    new = await next_frame(c2, "message.new")
    assert new["message"]["content"] == "after"
    for ws in (b, c, c2, b2):
        await ws.close()


class SilentServer:
    """Accepts TCP connections and never answers: a wedged Redis."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(100)
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


async def test_rest_answers_within_a_bound_when_redis_never_replies(start_daphne, buyer, order):
    silent = SilentServer()
    try:
        server = start_daphne(redis_url=f"redis://127.0.0.1:{silent.port}/0")
        token = bearer(buyer)
        for n in range(3):
            started = time.monotonic()
            status, body = await asyncio.to_thread(
                http_json,
                "POST",
                f"{server.http}/api/orders/{order.pk}/messages",
                token=token,
                body={"content": f"into the void {n}"},
                timeout=15,
            )
            elapsed = time.monotonic() - started
            assert status == 201, body
            assert elapsed < 5, f"took {elapsed:.1f} s"
        status, body = await asyncio.to_thread(
            http_json, "GET", f"{server.http}/api/orders/{order.pk}/messages", token=token
        )
        assert [m["content"] for m in body["results"]] == [f"into the void {n}" for n in range(3)]
    finally:
        silent.close()
