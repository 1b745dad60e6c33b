"""A socket outlives its access tokens over a real daphne: the mobile renew loop of
docs/websocket-protocol.md, with tokens from the server's own REST API living six seconds
(JWT_ACCESS_MINUTES=0.1), on PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import Any

import pytest
from django.conf import global_settings
from websockets.exceptions import ConnectionClosed

from .conftest import next_frame, ws_connect
from .servers import http_json

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

LIFETIME = 6.0  # seconds: JWT_ACCESS_MINUTES=0.1
WARNING = 1.5  # WS_TOKEN_EXPIRY_WARNING_SECONDS


def moment(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@pytest.fixture(autouse=True)
def _server_password_hashing(_fast_password_hashing: None, settings: Any) -> None:
    """The buyer signs in on the daphne under test, which knows only the real hashers."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


async def rest(method: str, url: str, **kwargs: Any) -> Any:
    status, body = await asyncio.to_thread(http_json, method, url, **kwargs)
    assert status == 200, body
    return body


async def test_a_socket_renewed_twice_outlives_three_tokens_and_then_closes_4401(
    start_daphne, buyer, password, order
):
    server = start_daphne(JWT_ACCESS_MINUTES="0.1", WS_TOKEN_EXPIRY_WARNING_SECONDS=str(WARNING))
    tokens = await rest(
        "POST",
        f"{server.http}/api/auth/token",
        body={"username": buyer.username, "password": password},
    )
    opened = time.time()
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=tokens["access"])
    hello = await next_frame(ws, "hello")
    assert hello["you"]["user_id"] == buyer.pk

    expiries = []
    sent = [tokens["access"]]
    for _ in range(2):
        warning = await next_frame(ws, "auth.expiring", timeout=LIFETIME + 2)
        expires = moment(warning["expires_at"])
        assert 0 < expires - time.time() <= WARNING + 0.5  # shortly before the expiry
        expiries.append(expires)
        # The renew loop: a fresh access token over REST (refresh tokens rotate), sent in band.
        tokens = await rest(
            "POST", f"{server.http}/api/auth/token/refresh", body={"refresh": tokens["refresh"]}
        )
        await ws.send(json.dumps({"type": "auth.refresh", "token": tokens["access"]}))
        sent.append(tokens["access"])
        refreshed = await next_frame(ws, "auth.refreshed")
        assert moment(refreshed["expires_at"]) > expires
    third_expiry = moment(refreshed["expires_at"])

    # Past the first two tokens' expiry the socket is the same, and still answers.
    await asyncio.sleep(max(0.0, expiries[1] - time.time()) + 0.5)
    await ws.send(json.dumps({"type": "ping"}))
    assert (await next_frame(ws, "pong"))["type"] == "pong"

    # The third token is not renewed: warned once, then closed 4401 at its expiry.
    warning = await next_frame(ws, "auth.expiring", timeout=LIFETIME)
    assert moment(warning["expires_at"]) == third_expiry
    with pytest.raises(ConnectionClosed):
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=LIFETIME))
            assert frame["type"] in {"presence", "pong"}, frame
    closed = time.time()
    assert ws.close_code == 4401
    assert third_expiry - 0.5 <= closed <= third_expiry + 2
    # One socket across three tokens: longer than two whole token lifetimes, and past the
    # expiry of each of the first two (the renewals happened at the warnings, so three tokens
    # end to end make 3 lifetimes less two warning intervals).
    assert closed - opened > 2 * LIFETIME
    assert closed > expiries[1] > expiries[0]
    log = server.log_path.read_text()
    assert [t for t in sent if t.rsplit(".", 1)[1] in log] == []
