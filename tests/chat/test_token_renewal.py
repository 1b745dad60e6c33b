"""A bearer socket outlives its token when the client renews it in band (`auth.refresh`), is
warned before it expires (`auth.expiring`), and still closes with 4401 at an expiry it did not
renew. Session sockets are untouched. chat/renewal.py; docs/websocket-protocol.md."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import OperationalError
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from chat import auth
from chat import heartbeat as heartbeat_module
from chat.auth import Credential
from echo_site.asyncapi import document
from tests.conftest import client_for

from .conftest import ORIGIN, bearer, connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def expiry_of(token: str) -> str:
    exp = AccessToken(token)["exp"]  # type: ignore[arg-type]
    return datetime.fromtimestamp(int(exp), tz=UTC).isoformat().replace("+00:00", "Z")


async def next_of(comm: WebsocketCommunicator, frame_type: str, timeout: float = 5) -> Any:
    """The next frame of that type, skipping presence chatter."""
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if frame["type"] == frame_type:
            return frame
        assert frame["type"] in {"presence", "typing"}, frame


async def frames_until_close(comm: WebsocketCommunicator, timeout: float) -> tuple[list, int]:
    """(every frame received, the close code)."""
    frames = []
    while True:
        output = await comm.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return frames, output["code"]
        frames.append(output)


async def still_open(comm: WebsocketCommunicator) -> bool:
    await comm.send_json_to({"type": "ping"})
    return (await next_of(comm, "pong"))["type"] == "pong"


@pytest.fixture
def no_warning(settings: Any) -> None:
    settings.WS_TOKEN_EXPIRY_WARNING_SECONDS = 0


async def test_a_renewed_socket_lives_until_the_new_tokens_expiry_then_closes_4401(
    buyer, order, settings, no_warning
):
    settings.LIVE_HEARTBEAT_SECONDS = 0.3  # the heartbeat re-checks the renewed credential
    comm, _ = await connect(f"/ws/orders/{order.pk}/", token=bearer(buyer, timedelta(seconds=3)))
    fresh = bearer(buyer, timedelta(seconds=7))
    await comm.send_json_to({"type": "auth.refresh", "token": fresh})
    refreshed = await next_of(comm, "auth.refreshed")
    assert refreshed == {"type": "auth.refreshed", "expires_at": expiry_of(fresh)}
    await asyncio.sleep(3.5)  # past the first token's expiry, and several heartbeats
    assert await still_open(comm)
    started = time.monotonic()
    _, code = await frames_until_close(comm, timeout=8)
    assert code == 4401
    assert time.monotonic() - started < 5  # at the new expiry, not some later sweep


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param("not-a-jwt", "token_invalid", id="malformed"),
        pytest.param("", "token_invalid", id="empty"),
        pytest.param(None, "token_invalid", id="null"),
        pytest.param(12345, "token_invalid", id="a number"),
        pytest.param({"token": "x"}, "token_invalid", id="an object"),
        pytest.param(["x"], "token_invalid", id="a list"),
        pytest.param("e" * 60_000, "token_invalid", id="huge"),
        pytest.param("forged", "token_invalid", id="forged"),
        pytest.param("refresh", "token_invalid", id="a refresh token"),
        pytest.param("expired", "token_expired", id="expired"),
        pytest.param("missing", "token_invalid", id="no token field"),
    ],
)
async def test_a_bad_token_is_an_error_frame_and_the_old_expiry_stands(
    buyer, order, token, code, no_warning
):
    if token == "forged":
        claims = dict(AccessToken.for_user(buyer).payload)
        token = jwt.encode(claims, "not-our-key-but-long-enough-for-hs256!", algorithm="HS256")
    elif token == "refresh":
        token = str(await database_sync_to_async(RefreshToken.for_user)(buyer))
    elif token == "expired":
        token = bearer(buyer, timedelta(seconds=-5))
    frame: dict[str, Any] = {"type": "auth.refresh", "ref": "r1"}
    if token != "missing":
        frame["token"] = token
    comm, _ = await connect(f"/ws/orders/{order.pk}/", token=bearer(buyer, timedelta(seconds=3)))
    await comm.send_json_to(frame)
    error = await next_of(comm, "error")
    assert (error["code"], error["ref"]) == (code, "r1")
    assert await still_open(comm)
    frames, close = await frames_until_close(comm, timeout=6)  # the first token's expiry
    assert close == 4401
    assert not [f for f in frames if '"auth.refreshed"' in f.get("text", "")]


async def test_a_token_from_before_the_users_logout_is_refused(buyer, order, no_warning):
    before = str(AccessToken.for_user(buyer))
    response = await database_sync_to_async(client_for(buyer).post)("/api/auth/logout", {})
    assert response.status_code == 204
    await asyncio.sleep(1.1)  # a JWT's "iat" is in whole seconds
    comm, _ = await connect(f"/ws/orders/{order.pk}/", token=str(AccessToken.for_user(buyer)))
    await comm.send_json_to({"type": "auth.refresh", "token": before})
    assert (await next_of(comm, "error"))["code"] == "token_revoked"
    assert await still_open(comm)
    await comm.disconnect()


async def test_a_renewal_while_the_database_is_down_is_an_error_and_the_socket_stays(
    buyer, order, monkeypatch, no_warning
):
    async def down(user_id: int, issued_at: Any) -> Any:
        raise OperationalError("connection to server at 127.0.0.1 failed")

    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    monkeypatch.setattr(auth, "active_user", down)
    await comm.send_json_to({"type": "auth.refresh", "token": bearer(buyer), "ref": 1})
    error = await next_of(comm, "error")
    assert (error["code"], error["ref"]) == ("service_unavailable", 1)
    monkeypatch.undo()
    assert await still_open(comm)
    await comm.send_json_to({"type": "auth.refresh", "token": bearer(buyer)})
    assert (await next_of(comm, "auth.refreshed"))["type"] == "auth.refreshed"
    await comm.disconnect()


async def test_a_valid_token_of_another_user_closes_the_socket_4401(
    buyer, creator, order, no_warning
):
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await comm.send_json_to({"type": "auth.refresh", "token": bearer(creator)})
    frames, code = await frames_until_close(comm, timeout=5)
    assert code == 4401
    assert not [f for f in frames if '"auth.refreshed"' in f.get("text", "")]


async def test_the_server_warns_before_expiry_once_per_token(buyer, order, settings):
    settings.WS_TOKEN_EXPIRY_WARNING_SECONDS = 2
    first = bearer(buyer, timedelta(seconds=4))
    comm, _ = await connect(f"/ws/orders/{order.pk}/", token=first)
    warning = await next_of(comm, "auth.expiring", timeout=5)
    assert warning == {"type": "auth.expiring", "expires_at": expiry_of(first)}
    left = datetime.fromisoformat(warning["expires_at"]) - datetime.now(UTC)
    assert left > timedelta(seconds=1)  # shortly before the expiry, not at it
    second = bearer(buyer, timedelta(seconds=4))
    await comm.send_json_to({"type": "auth.refresh", "token": second})
    await next_of(comm, "auth.refreshed")
    warning = await next_of(comm, "auth.expiring", timeout=5)
    assert warning["expires_at"] == expiry_of(second)
    # The same token again: the expiry stays, and so does the single warning for it.
    await comm.send_json_to({"type": "auth.refresh", "token": second})
    frames, code = await frames_until_close(comm, timeout=6)
    assert code == 4401  # expiry without renewal still closes
    texts = [f["text"] for f in frames]
    assert sum('"auth.refreshed"' in t for t in texts) == 1
    assert not [t for t in texts if '"auth.expiring"' in t]


async def test_a_token_shorter_than_the_warning_is_warned_at_once(buyer, order, settings):
    settings.WS_TOKEN_EXPIRY_WARNING_SECONDS = 60
    token = bearer(buyer, timedelta(seconds=5))
    comm, _ = await connect(f"/ws/orders/{order.pk}/", token=token)
    assert (await next_of(comm, "auth.expiring", timeout=1))["expires_at"] == expiry_of(token)
    await comm.disconnect()


def _session_cookie(user: Any, password: str) -> str:
    client = Client()
    assert client.login(username=user.username, password=password)
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}"


def _session_ticket(user: Any) -> str:
    response = client_for(user).post("/api/ws-ticket", {})
    assert response.status_code == 200, response.content
    return str(response.json()["ticket"])


@pytest.mark.parametrize("how", ["session cookie", "ticket without expiry"])
async def test_sockets_without_a_token_expiry_get_no_warning_and_cannot_refresh(
    buyer, order, password, settings, how
):
    settings.WS_TOKEN_EXPIRY_WARNING_SECONDS = 3600  # a bearer socket would be warned at once
    if how == "session cookie":
        cookie = await database_sync_to_async(_session_cookie)(buyer, password)
        comm, _ = await connect(f"/ws/orders/{order.pk}/", origin=ORIGIN, cookie=cookie)
    else:
        ticket = await database_sync_to_async(_session_ticket)(buyer)
        comm, _ = await connect(f"/ws/orders/{order.pk}/?ticket={ticket}", origin=ORIGIN)
    frames = []
    while not await comm.receive_nothing(timeout=0.5):
        frames.append(await comm.receive_json_from())
    assert [f for f in frames if f["type"] != "presence"] == []
    await comm.send_json_to({"type": "auth.refresh", "token": bearer(buyer), "ref": 7})
    error = await next_of(comm, "error")
    assert (error["code"], error["ref"]) == ("not_renewable", 7)
    assert await still_open(comm)
    await comm.disconnect()


async def test_a_ticket_bought_with_a_token_is_renewed_like_the_token(
    buyer, order, api, no_warning
):
    def buy() -> str:
        client = client_for(None)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer(buyer, timedelta(seconds=3))}")
        return str(client.post("/api/ws-ticket", {}).json()["ticket"])

    ticket = await database_sync_to_async(buy)()
    comm, _ = await connect(f"/ws/orders/{order.pk}/?ticket={ticket}", origin=ORIGIN)
    await comm.send_json_to({"type": "auth.refresh", "token": bearer(buyer)})
    await next_of(comm, "auth.refreshed")
    await asyncio.sleep(3.5)  # past the expiry of the token that bought the ticket
    assert await still_open(comm)
    await comm.disconnect()


async def test_refresh_frames_count_against_the_frame_rate_limit(buyer, order, settings):
    settings.LIVE_FRAMES_PER_WINDOW = 4
    settings.WS_TOKEN_EXPIRY_WARNING_SECONDS = 0
    comm, _ = await connect("/ws/notifications/", user=buyer)
    token = bearer(buyer)
    for _ in range(4):
        await comm.send_json_to({"type": "auth.refresh", "token": token})
        assert (await comm.receive_json_from(timeout=5))["type"] == "auth.refreshed"
    await comm.send_json_to({"type": "auth.refresh", "token": token, "ref": "5th"})
    error = await comm.receive_json_from(timeout=5)
    assert (error["type"], error["code"], error["ref"]) == ("error", "throttled", "5th")
    await comm.disconnect()


async def test_a_token_never_appears_in_logs_or_frames(buyer, creator, order, caplog, settings):
    settings.WS_TOKEN_EXPIRY_WARNING_SECONDS = 0
    caplog.set_level(logging.DEBUG)
    good = bearer(buyer)
    forged = jwt.encode({"user_id": buyer.pk}, "someone-elses-key-long-enough-for-hs256", "HS256")
    expired = bearer(buyer, timedelta(seconds=-5))
    garbage = "GARBAGE-MARKER-" + "x" * 100
    foreign = bearer(creator)
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    texts = []
    for token in (good, forged, expired, garbage):
        await comm.send_json_to({"type": "auth.refresh", "token": token})
        while '"presence"' in (text := (await comm.receive_output(timeout=5))["text"]):
            pass
        texts.append(text)
    await comm.send_json_to({"type": "auth.refresh", "token": foreign})
    frames, code = await frames_until_close(comm, timeout=5)
    assert code == 4401
    texts += [f["text"] for f in frames]
    assert [t.split('"type":"')[1].split('"')[0] for t in texts[:4]] == [
        "auth.refreshed",
        "error",
        "error",
        "error",
    ]
    for token in (good, forged, expired, garbage, foreign):
        signature = token.rsplit(".", 1)[-1]
        assert signature not in caplog.text
        assert not [t for t in texts if signature in t]


async def test_the_heartbeat_keeps_a_socket_renewed_while_it_checked_the_old_token(monkeypatch):
    """A beat reads the credentials, then the database: a socket renewed in between is judged by
    its new credential, not closed for the old one."""
    old = Credential(method="jwt", user_id=1, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    new = Credential(method="jwt", user_id=1, expires_at=datetime.now(UTC) + timedelta(minutes=5))

    class Socket:
        user = None
        credential: Credential | None = old
        closed = False
        closes: list[int] = []

        async def close_with(self, code: int) -> None:
            self.closes.append(code)

        def presence_entries(self) -> list:
            return []

        def presence_room(self) -> None:
            return None

        def tail_reader(self) -> None:
            return None

    socket = Socket()

    def renewed_meanwhile(credentials: list) -> list[bool]:
        socket.credential = new  # auth.refresh handled while the database was read
        return [False for _ in credentials]

    monkeypatch.setattr(heartbeat_module, "credentials_still_valid", renewed_meanwhile)
    await heartbeat_module.Heartbeat().beat([socket])  # type: ignore[list-item]
    assert socket.closes == []
    # Without a renewal, the same verdict closes it.
    await heartbeat_module.Heartbeat().beat([socket])  # type: ignore[list-item]
    assert socket.closes == [4401]


async def test_every_room_accepts_auth_refresh_and_may_send_the_auth_frames() -> None:
    doc = document()
    for name, channel in doc["channels"].items():
        titles = {doc["components"]["messages"][m]["title"] for m in channel["messages"]}
        assert {"AuthRefresh", "AuthRefreshed", "AuthExpiring"} <= titles, name
        receive = doc["operations"][f"{name}.receive"]["messages"]
        received = {ref["$ref"].rsplit("/", 1)[1] for ref in receive}
        assert "authRefresh" in received, name
    schema = doc["components"]["schemas"]["AuthRefresh"]
    assert schema["required"] == ["token", "type"]
    assert schema["properties"]["token"] == {"type": "string"}


async def test_a_stopped_clock_lets_its_socket_go_by_reference_count() -> None:
    """The clock holds the socket's bound methods and the socket holds the clock: stop() must
    break that cycle, or every closed bearer socket waits for the cyclic collector (memory
    under connection churn, tests/bench/test_bench_churn.py)."""
    import gc
    import weakref

    from chat.renewal import ExpiryClock

    class Socket:
        async def warn(self, expires_at: Any) -> None:
            return None

        def expire(self) -> None:
            return None

    socket = Socket()
    socket.clock = ExpiryClock(warn=socket.warn, expire=socket.expire)  # type: ignore[attr-defined]
    gone = weakref.ref(socket)
    socket.clock.stop()  # type: ignore[attr-defined]
    enabled = gc.isenabled()
    gc.disable()
    try:
        del socket
        assert gone() is None
    finally:
        if enabled:
            gc.enable()
