"""Who gets into a room: origins, bearer tokens, session cookies, tickets, and the close codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client

from .conftest import ORIGIN, bearer, communicator, connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def closed_with(comm, code: int) -> None:
    connected, _ = await comm.connect(timeout=5)
    assert connected, "refusals after the handshake are accepted first, then closed"
    frame = await comm.receive_output(timeout=5)
    assert frame == {"type": "websocket.close", "code": code}


async def test_bearer_without_origin_is_accepted(buyer, order):
    comm, hello = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    assert hello["you"]["user_id"] == buyer.pk
    await comm.disconnect()


@pytest.mark.parametrize("origin", [b"https://evil.example", b"null", b"file://"])
async def test_foreign_or_null_origin_is_refused_at_the_handshake(buyer, order, origin):
    comm = communicator(f"/ws/orders/{order.pk}/", user=buyer, origin=origin)
    connected, _ = await comm.connect(timeout=5)
    # Refused before accept: daphne answers the HTTP upgrade with 403 (see the daphne tests).
    assert not connected


async def test_no_credential_closes_4401(order):
    await closed_with(communicator(f"/ws/orders/{order.pk}/", origin=ORIGIN), 4401)


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        # alg=none with a user_id claim
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ1c2VyX2lkIjoxLCJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.",
    ],
)
async def test_forged_or_unsigned_tokens_close_4401(order, token):
    await closed_with(communicator(f"/ws/orders/{order.pk}/", token=token), 4401)


async def test_expired_token_closes_4401(buyer, order):
    token = bearer(buyer, lifetime=timedelta(seconds=-5))
    await closed_with(communicator(f"/ws/orders/{order.pk}/", token=token), 4401)


async def test_outsider_closes_4403_and_unknown_order_4404(outsider, order):
    await closed_with(communicator(f"/ws/orders/{order.pk}/", user=outsider), 4403)
    await closed_with(communicator("/ws/orders/999999/", user=outsider), 4404)


def _session_cookie(user, password) -> str:
    client = Client()
    assert client.login(username=user.username, password=password)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def test_session_cookie_with_our_origin_is_accepted(buyer, order, password):
    cookie = await database_sync_to_async(_session_cookie)(buyer, password)
    comm, hello = await connect(f"/ws/orders/{order.pk}/", origin=ORIGIN, cookie=cookie)
    assert hello["you"]["user_id"] == buyer.pk
    await comm.disconnect()


async def test_session_cookie_without_origin_is_not_enough(buyer, order, password):
    cookie = await database_sync_to_async(_session_cookie)(buyer, password)
    await closed_with(communicator(f"/ws/orders/{order.pk}/", cookie=cookie), 4401)


async def test_session_cookie_with_foreign_origin_is_refused(buyer, order, password):
    cookie = await database_sync_to_async(_session_cookie)(buyer, password)
    comm = communicator(f"/ws/orders/{order.pk}/", origin=b"https://evil.example", cookie=cookie)
    connected, _ = await comm.connect(timeout=5)
    assert not connected


def _ticket(api, user) -> str:
    response = api(None).post(
        "/api/ws-ticket", HTTP_AUTHORIZATION=f"Bearer {bearer(user)}", format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["expires_in"] == 30
    return response.json()["ticket"]


async def test_ticket_works_once(api, buyer, order):
    ticket = await database_sync_to_async(_ticket)(api, buyer)
    comm, hello = await connect(f"/ws/orders/{order.pk}/?ticket={ticket}", origin=ORIGIN)
    assert hello["you"]["user_id"] == buyer.pk
    await comm.disconnect()
    again = communicator(f"/ws/orders/{order.pk}/?ticket={ticket}", origin=ORIGIN)
    await closed_with(again, 4401)


async def test_expired_ticket_is_refused(api, buyer, order, monkeypatch):
    from django.core.cache import caches

    ticket = await database_sync_to_async(_ticket)(api, buyer)
    # What the cache does at the 30 s mark: the entry is gone.
    await database_sync_to_async(caches["tickets"].delete)(f"wsticket:{ticket}")
    await closed_with(communicator(f"/ws/orders/{order.pk}/?ticket={ticket}", origin=ORIGIN), 4401)


async def test_ticket_endpoint_needs_authentication(api):
    response = await database_sync_to_async(api(None).post)("/api/ws-ticket")
    assert response.status_code == 401


async def test_connections_beyond_the_per_user_cap_close_4429(buyer, order, settings):
    settings.LIVE_MAX_SOCKETS_PER_USER = 3
    held = [(await connect(f"/ws/orders/{order.pk}/", user=buyer))[0] for _ in range(3)]
    await closed_with(communicator(f"/ws/orders/{order.pk}/", user=buyer), 4429)
    await held[0].disconnect()
    # A freed slot can be used again.
    again, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    for comm in [*held[1:], again]:
        await comm.disconnect()


async def test_only_a_socket_with_cookies_gets_a_session_store(buyer):
    """Bearer and ticket sockets skip Channels' cookie and session middleware (a store per
    socket and a wrapper around every frame sent); a socket with a Cookie header keeps it."""
    from chat.auth import websocket_auth_stack

    seen: list[dict] = []

    async def app(scope, receive, send):
        seen.append(scope)

    stack = websocket_auth_stack(app)
    base = {"type": "websocket", "path": "/ws/x/", "query_string": b""}
    headers = [(b"authorization", f"Bearer {bearer(buyer)}".encode())]
    await stack({**base, "headers": headers}, None, None)
    await stack({**base, "headers": [*headers, (b"cookie", b"theme=dark")]}, None, None)
    without_cookie, with_cookie = seen
    assert "session" not in without_cookie and without_cookie["user"] == buyer
    assert "session" in with_cookie and with_cookie["user"] == buyer
