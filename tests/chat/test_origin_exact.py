"""Websocket Origins are checked exactly: scheme, host and port of the site's own origin or of
CSRF_TRUSTED_ORIGINS, nothing looser. Runs on the in-memory layer and on Redis (both passes)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from chat.auth import origin_allowed
from echo_site.asgi import application

from .conftest import bearer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def handshake(path: str, **headers: str) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application,
        path,
        headers=[
            (name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()
        ],
    )


async def hello_or_refusal(comm: WebsocketCommunicator) -> str:
    connected, _ = await comm.connect(timeout=5)
    if not connected:
        return "refused"
    frame = await comm.receive_output(timeout=5)
    await comm.disconnect()
    if frame["type"] == "websocket.close":
        return f"closed {frame['code']}"
    return "hello"


@pytest.fixture
def site(settings: Any) -> None:
    """A production-like set-up: one public host, one trusted origin, TLS ending at a proxy
    that says so (BEHIND_PROXY)."""
    settings.ALLOWED_HOSTS = [".echo.example", "127.0.0.1"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://echo.example"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.parametrize(
    ("host", "origin", "outcome"),
    [
        # The trusted origin, exactly.
        ("echo.example", "https://echo.example", "hello"),
        ("echo.example", "HTTPS://ECHO.EXAMPLE", "hello"),  # scheme and host ignore case
        # Another port or scheme on the same host.
        ("echo.example", "https://echo.example:8443", "refused"),
        ("echo.example", "http://echo.example", "refused"),
        # A subdomain that is not listed, though ALLOWED_HOSTS admits it as a Host.
        ("echo.example", "https://uploads.echo.example", "refused"),
        # The site's own origin, not listed: the Host the handshake reached (valid for
        # ALLOWED_HOSTS), with the scheme the proxy reports.
        ("127.0.0.1:8000", "https://127.0.0.1:8000", "hello"),
        ("127.0.0.1:8000", "https://127.0.0.1:9000", "refused"),
        ("127.0.0.1:8000", "http://127.0.0.1:8000", "refused"),
        # A hostile Host header names no origin of ours.
        ("evil.example", "https://evil.example", "refused"),
        ("echo.example", "null", "refused"),
        ("echo.example", "https://evil.example", "refused"),
        ("echo.example", "https://echo.example.evil.example", "refused"),
        ("echo.example", "https://user@echo.example", "refused"),
        ("echo.example", "https://echo.example/path", "refused"),
    ],
)
async def test_a_session_socket_opens_only_from_exactly_our_origin(
    site, buyer, order, host, origin, outcome
):
    cookie = await database_sync_to_async(_session_cookie)(buyer)
    comm = handshake(
        f"/ws/orders/{order.pk}/",
        host=host,
        origin=origin,
        cookie=cookie,
        x_forwarded_proto="https",
    )
    assert await hello_or_refusal(comm) == outcome


async def test_behind_a_proxy_the_sites_own_origin_is_https_only_when_the_proxy_says_so(
    site, settings, buyer, order
):
    cookie = await database_sync_to_async(_session_cookie)(buyer)
    path = f"/ws/orders/{order.pk}/"
    forwarded = {"host": "127.0.0.1:8000", "x_forwarded_proto": "https", "cookie": cookie}
    # Without BEHIND_PROXY the header is the client's word and changes nothing.
    settings.SECURE_PROXY_SSL_HEADER = None
    assert await hello_or_refusal(
        handshake(path, origin="https://127.0.0.1:8000", **forwarded)
    ) == ("refused")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert await hello_or_refusal(
        handshake(path, origin="https://127.0.0.1:8000", **forwarded)
    ) == ("hello")
    assert await hello_or_refusal(handshake(path, origin="http://127.0.0.1:8000", **forwarded)) == (
        "refused"
    )


async def test_a_wildcard_trusted_origin_admits_its_subdomains_on_its_scheme_and_port(
    settings, buyer, order
):
    settings.ALLOWED_HOSTS = [".echo.example"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.echo.example"]
    scope = {"type": "websocket", "path": "/ws/x/", "headers": [(b"host", b"echo.example")]}
    assert origin_allowed("https://app.echo.example", scope)
    assert not origin_allowed("http://app.echo.example", scope)
    assert not origin_allowed("https://app.echo.example:8443", scope)
    assert not origin_allowed("https://echo.example.evil", scope)


async def test_bearer_and_ticket_handshakes_need_no_origin_but_a_foreign_one_is_refused(
    site, api, buyer, order
):
    path = f"/ws/orders/{order.pk}/"
    token = f"Bearer {bearer(buyer)}"
    assert await hello_or_refusal(handshake(path, host="echo.example", authorization=token)) == (
        "hello"
    )
    foreign = handshake(
        path, host="echo.example", authorization=token, origin="https://echo.example:8443"
    )
    assert await hello_or_refusal(foreign) == "refused"

    def ticket() -> str:
        response = api(None).post(
            "/api/ws-ticket", HTTP_AUTHORIZATION=token, HTTP_HOST="echo.example", format="json"
        )
        assert response.status_code == 200, response.content
        return str(response.json()["ticket"])

    redeemed = handshake(f"{path}?ticket={await database_sync_to_async(ticket)()}")
    assert await hello_or_refusal(redeemed) == "hello"
