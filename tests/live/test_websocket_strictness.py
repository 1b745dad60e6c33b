"""Issue 15 items 2 and 7 and issue 24 items 6 and 7 against real daphne processes on
PostgreSQL and Redis: exact origins, strict frames, per-user limits across processes, clean
unknown paths. (Routine disconnects: tests/chat/test_routine_disconnects.py.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from websockets.exceptions import InvalidStatus

from orders.models import Message
from tests.chat.conftest import bearer

from .conftest import next_frame, ws_connect
from .test_websocket_abuse import close_code, session_cookie, ws_with_cookie

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def server(start_daphne: Any) -> Any:
    return start_daphne()


def errors_in_log(server: Any) -> list[str]:
    server.log.flush()
    text = server.log_path.read_text(errors="replace")
    return [line for line in text.splitlines() if " ERROR " in line or "Traceback" in line]


async def test_another_port_or_scheme_of_our_host_is_refused_403(server, buyer, order):
    cookie = await database_sync_to_async(session_cookie)(buyer)
    url = f"{server.ws}/ws/orders/{order.pk}/"
    for origin in (f"http://127.0.0.1:{server.port + 1}", f"https://127.0.0.1:{server.port}"):
        with pytest.raises(InvalidStatus) as refused:
            await ws_with_cookie(url, cookie, origin)
        assert refused.value.response.status_code == 403, origin
    # The site's own origin (Host 127.0.0.1:<port>) is welcome, listed or not.
    ws = await ws_with_cookie(url, cookie, f"http://127.0.0.1:{server.port}")
    assert (await next_frame(ws, "hello"))["you"]["role"] == "buyer"
    await ws.close()


async def test_nul_text_is_an_error_frame_on_postgresql_not_a_1011(server, buyer, order):
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer))
    await next_frame(ws, "hello")
    await ws.send(json.dumps({"type": "message.send", "content": "a\x00b", "client_id": "n"}))
    error = await next_frame(ws, "error")
    assert (error["code"], error["ref"]) == ("invalid", "n")
    await ws.send(json.dumps({"type": "sync", "after_seq": 2**64 - 1, "ref": "s"}))
    assert (await next_frame(ws, "sync.done"))["last_seq"] == 1
    await ws.send(json.dumps({"type": "message.send", "content": "still open", "client_id": "o"}))
    assert (await next_frame(ws, "message.ack"))["message"]["seq"] == 2
    assert await database_sync_to_async(Message.objects.filter(order=order).count)() == 1
    await ws.close()
    assert errors_in_log(server) == []


@pytest.mark.parametrize("path", ["/ws/nowhere/", "/ws/orders/99999999999999999999/"])
async def test_unknown_paths_close_4404_without_a_traceback(server, buyer, path):
    ws = await ws_connect(f"{server.ws}{path}", token=bearer(buyer))
    assert await close_code(ws) == 4404
    await asyncio.sleep(0.3)
    assert errors_in_log(server) == []


async def test_the_message_limit_is_per_user_across_processes(start_daphne, buyer, order):
    from django.conf import settings

    limit = settings.LIVE_MESSAGES_PER_WINDOW
    one, two = start_daphne(), start_daphne()
    sockets = [
        await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer))
        for server in (one, two)
    ]
    for ws in sockets:
        await next_frame(ws, "hello")
    outcomes: list[str] = []
    for n in range(limit + 4):
        ws = sockets[n % 2]
        await ws.send(
            json.dumps({"type": "message.send", "content": f"m{n}", "client_id": f"c{n}"})
        )
        frame = await next_frame_of(ws, {"message.ack", "error"})
        outcomes.append(frame["type"] if frame["type"] == "message.ack" else frame["code"])
    assert outcomes == ["message.ack"] * limit + ["rate_limited"] * 4
    assert await database_sync_to_async(Message.objects.filter(order=order).count)() == limit
    for ws in sockets:
        await ws.close()


async def next_frame_of(ws: Any, types: set[str], timeout: float = 10) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] in types:
                return frame

    return await asyncio.wait_for(read(), timeout)
