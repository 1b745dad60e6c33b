"""Two real daphne processes sharing one Redis behave as one service."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import InvalidStatus

from tests.chat.conftest import bearer

from .conftest import next_frame, ws_connect
from .servers import http_json

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_messages_acks_reads_and_rest_moves_cross_processes(
    start_daphne, buyer, creator, order
):
    one, two = start_daphne(), start_daphne()
    buyer_token, creator_token = bearer(buyer), bearer(creator)
    b = await ws_connect(f"{one.ws}/ws/orders/{order.pk}/", token=buyer_token)
    c = await ws_connect(f"{two.ws}/ws/orders/{order.pk}/", token=creator_token)
    try:
        assert (await next_frame(b, "hello"))["you"]["role"] == "buyer"
        assert (await next_frame(c, "hello"))["you"]["role"] == "creator"

        await b.send(json.dumps({"type": "message.send", "content": "from one", "client_id": "b1"}))
        ack = await next_frame(b, "message.ack")
        new = await next_frame(c, "message.new")
        assert new["message"] == ack["message"]

        await c.send(json.dumps({"type": "message.send", "content": "from two", "client_id": "c1"}))
        ack2 = await next_frame(c, "message.ack")
        assert (await next_frame(b, "message.new"))["message"] == ack2["message"]

        await b.send(json.dumps({"type": "read", "seq": ack2["message"]["seq"]}))
        read = await next_frame(c, "read", skip=frozenset({"presence", "typing"}))
        assert (read["user_id"], read["seq"]) == (buyer.pk, ack2["message"]["seq"])

        # A move over REST on process one reaches both rooms.
        status, body = await asyncio.to_thread(
            http_json,
            "PATCH",
            f"{one.http}/api/orders/{order.pk}/status",
            token=buyer_token,
            body={"status": "CANCELLED", "note": "over REST"},
        )
        assert status == 200, body
        for ws in (b, c):
            frame = await next_frame(ws, "order.status")
            assert frame["event"]["note"] == "over REST"
            assert frame["order"]["status"] == "CANCELLED"
    finally:
        await b.close()
        await c.close()


async def test_presence_crosses_processes(start_daphne, buyer, creator, order):
    one, two = start_daphne(), start_daphne()
    b = await ws_connect(f"{one.ws}/ws/orders/{order.pk}/", token=bearer(buyer))
    await next_frame(b, "hello")
    c = await ws_connect(f"{two.ws}/ws/orders/{order.pk}/", token=bearer(creator))
    hello = await next_frame(c, "hello")
    assert {p["user_id"] for p in hello["online"]} == {buyer.pk, creator.pk}
    frame = await next_frame(b, "presence", skip=frozenset({"typing"}))
    while frame["user_id"] != creator.pk:
        frame = await next_frame(b, "presence", skip=frozenset({"typing"}))
    assert frame == {"type": "presence", "user_id": creator.pk, "online": True, "role": "creator"}
    await c.close()
    frame = await next_frame(b, "presence", skip=frozenset({"typing"}))
    assert (frame["user_id"], frame["online"]) == (creator.pk, False)
    await b.close()


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
async def test_foreign_origin_gets_403_at_the_handshake(start_daphne, buyer, order, origin):
    server = start_daphne()
    with pytest.raises(InvalidStatus) as refused:
        await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer), origin=origin)
    assert refused.value.response.status_code == 403


async def test_own_origin_with_bearer_is_accepted(start_daphne, buyer, order):
    server = start_daphne()
    ws = await ws_connect(
        f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer), origin=server.http
    )
    assert (await next_frame(ws, "hello"))["order_id"] == order.pk
    await ws.close()


async def test_daphne_closes_frames_over_64_kib_with_1009(start_daphne, buyer, order):
    server = start_daphne()
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer), max_size=None)
    await next_frame(ws, "hello")
    await ws.send(json.dumps({"type": "ping", "pad": "x" * (64 * 1024)}))
    with pytest.raises(Exception):  # noqa: B017 - the connection closes; the code is checked below
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code == 1009, (ws.close_code, ws.close_reason)


async def test_tokens_and_tickets_never_reach_the_logs(start_daphne, buyer, order, api):
    server = start_daphne()
    token = bearer(buyer)
    status, body = await asyncio.to_thread(
        http_json, "POST", f"{server.http}/api/ws-ticket", token=token
    )
    assert status == 200, body
    ticket = body["ticket"]
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/?ticket={ticket}", origin=server.http)
    await next_frame(ws, "hello")
    await ws.close()
    # A reused ticket is refused with 4401.
    again = await ws_connect(
        f"{server.ws}/ws/orders/{order.pk}/?ticket={ticket}", origin=server.http
    )
    with pytest.raises(Exception):  # noqa: B017
        await asyncio.wait_for(again.recv(), 10)
    assert again.close_code == 4401
    server.stop()
    log = server.log_path.read_text()
    assert "WSCONNECT /ws/orders/" in log  # the access log was written...
    assert token not in log  # ...and holds neither the token nor the ticket
    assert ticket not in log


async def test_sender_gets_ack_when_rest_posts_a_message_on_the_other_process(
    start_daphne, buyer, creator, order
):
    one, two = start_daphne(), start_daphne()
    c = await ws_connect(f"{two.ws}/ws/orders/{order.pk}/", token=bearer(creator))
    await next_frame(c, "hello")
    status, body = await asyncio.to_thread(
        http_json,
        "POST",
        f"{one.http}/api/orders/{order.pk}/messages",
        token=bearer(buyer),
        body={"content": "over REST", "client_id": "r1"},
    )
    assert status == 201, body
    frame = await next_frame(c, "message.new")
    assert frame["message"]["id"] == body["id"]
    await c.close()
