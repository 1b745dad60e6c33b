"""No secret or token in any log line, with every logger at DEBUG.

A realistic flow (register, login, a wrong password, token refresh, ws-ticket, websockets with a
ticket, a bearer token and a session cookie, an order, a Stripe payment, a signed webhook, logout)
runs twice: in-process with the service's own logging configuration at LOG_LEVEL=DEBUG, and
against a real daphne started with LOG_LEVEL=DEBUG whose stdout and stderr are read back. Both
logs are then searched for every credential the flow handled.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from echo_site.asgi import application
from tests.factories import ItemFactory, UserFactory
from tests.live.servers import http_json
from tests.payments.conftest import make_event, sign

pytestmark = [pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-Battery-42"
WRONG_PASSWORD = "Wrong-Horse-Battery-99"


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The service's LOGGING with LOG_LEVEL=DEBUG; what its console handler writes."""
    buffer = io.StringIO()
    config = json.loads(json.dumps(settings.LOGGING, default=str))
    config["root"]["level"] = "DEBUG"
    logging.config.dictConfig(config)
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    assert handlers, "the service logs to a console handler"
    for handler in handlers:
        handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    logging.config.dictConfig(settings.LOGGING)


def leaked(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value and value in text]


def api(token: str | None = None) -> APIClient:
    client = APIClient()
    client.default_format = "json"
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


async def ws_hello(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    hello = await comm.receive_json_from(timeout=5)
    await comm.send_json_to({"type": "message.send", "content": "hi", "client_id": "log-1"})
    await comm.receive_json_from(timeout=5)
    await comm.disconnect()
    return hello


async def test_a_realistic_flow_leaves_no_secret_in_debug_logs(debug_log, stripe_double):
    creator = await sync_to_async(UserFactory)(username="log_creator")
    item = await sync_to_async(ItemFactory)(creator=creator)

    def rest_flow() -> dict[str, str]:
        register = api().post(
            "/api/auth/register",
            {"username": "log_buyer", "email": "lb@example.com", "password": PASSWORD},
        )
        assert register.status_code == 201, register.content
        assert (
            api()
            .post("/api/auth/token", {"username": "log_buyer", "password": WRONG_PASSWORD})
            .status_code
            == 401
        )
        tokens = api().post("/api/auth/token", {"username": "log_buyer", "password": PASSWORD})
        assert tokens.status_code == 200
        refreshed = api().post("/api/auth/token/refresh", {"refresh": tokens.json()["refresh"]})
        assert refreshed.status_code == 200
        access = refreshed.json()["access"]
        assert api(tokens.json()["access"] + "x").get("/api/auth/me").status_code == 401
        ticket = api(access).post("/api/ws-ticket").json()["ticket"]
        order = api(access).post("/api/orders", {"item_id": item.pk})
        assert order.status_code == 201, order.content
        payment = api(access).post(f"/api/orders/{order.json()['id']}/payment")
        assert payment.status_code == 201, payment.content
        intent = stripe_double.succeed_intent(next(iter(stripe_double.intents)))
        payload = make_event("payment_intent.succeeded", intent)
        signature = sign(payload)
        hook = Client().post(
            "/api/payments/webhook",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
        )
        assert hook.status_code == 200, hook.content
        bad_hook = Client().post(
            "/api/payments/webhook",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature.replace("v1=", "v1=0"),
        )
        assert bad_hook.status_code == 400
        browser = Client()
        assert (
            browser.post("/signin/", {"username": "log_buyer", "password": PASSWORD}).status_code
            == 302
        )
        return {
            "access": access,
            "first access": tokens.json()["access"],
            "refresh": tokens.json()["refresh"],
            "rotated refresh": refreshed.json()["refresh"],
            "ticket": ticket,
            "client_secret": payment.json()["client_secret"],
            "signature": signature.split("v1=")[1],
            "session id": browser.cookies[settings.SESSION_COOKIE_NAME].value,
            "order": str(order.json()["id"]),
        }

    secrets = await sync_to_async(rest_flow)()
    order_path = f"/ws/orders/{secrets.pop('order')}/"
    origin = (b"origin", b"http://127.0.0.1:8000")
    await ws_hello(f"{order_path}?ticket={secrets['ticket']}", [origin])
    await ws_hello(order_path, [(b"authorization", f"Bearer {secrets['access']}".encode())])
    cookie = f"{settings.SESSION_COOKIE_NAME}={secrets['session id']}".encode()
    await ws_hello(order_path, [origin, (b"cookie", cookie)])

    def logout() -> None:
        response = api(secrets["access"]).post(
            "/api/auth/logout", {"refresh": secrets["rotated refresh"]}
        )
        assert response.status_code == 204

    await sync_to_async(logout)()

    text = debug_log.getvalue()
    assert " DEBUG " in text and "/api/payments/webhook" in text, "the capture saw nothing"
    secrets |= {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "SECRET_KEY": settings.SECRET_KEY,
        "STRIPE_SECRET_KEY": settings.STRIPE_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": settings.STRIPE_WEBHOOK_SECRET,
    }
    assert leaked(text, secrets) == [], text[-5000:]


@pytest.mark.services
async def test_a_real_daphne_at_debug_level_logs_no_secret(start_daphne):
    webhook_secret = "whsec_daphne_log_test_only"
    secret_key = "daphne-log-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
    server = start_daphne(
        DEBUG="0",
        SECRET_KEY=secret_key,
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="DEBUG",
        STRIPE_WEBHOOK_SECRET=webhook_secret,
    )
    creator = await sync_to_async(UserFactory)(username="dlog_creator")
    item = await sync_to_async(ItemFactory)(creator=creator)

    def call(method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        status, answer = http_json(method, f"{server.http}{path}", token=token, body=body)
        assert status < 300, (method, path, status, answer)
        return answer

    def rest_flow() -> dict[str, str]:
        call(
            "POST",
            "/api/auth/register",
            body={"username": "dlog_buyer", "email": "dl@example.com", "password": PASSWORD},
        )
        status, _ = http_json(
            "POST",
            f"{server.http}/api/auth/token",
            body={"username": "dlog_buyer", "password": WRONG_PASSWORD},
        )
        assert status == 401
        tokens = call(
            "POST", "/api/auth/token", body={"username": "dlog_buyer", "password": PASSWORD}
        )
        refreshed = call("POST", "/api/auth/token/refresh", body={"refresh": tokens["refresh"]})
        access = refreshed["access"]
        call("GET", "/api/auth/me", token=access)
        ticket = call("POST", "/api/ws-ticket", token=access)["ticket"]
        order = call("POST", "/api/orders", token=access, body={"item_id": item.pk})
        payment = call("POST", f"/api/orders/{order['id']}/payment", token=access)
        payload = make_event("customer.created", {"id": "cus_1", "object": "customer"})
        signature = sign(payload, secret=webhook_secret)
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - local test server
            f"{server.http}/api/payments/webhook",
            data=payload.encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200
        return {
            "access": access,
            "refresh": tokens["refresh"],
            "rotated refresh": refreshed["refresh"],
            "ticket": ticket,
            "client_secret": payment["client_secret"],
            "signature": signature.split("v1=")[1],
            "order": str(order["id"]),
        }

    from tests.live.conftest import next_frame, ws_connect

    secrets = await asyncio.to_thread(rest_flow)
    url = f"{server.ws}/ws/orders/{secrets.pop('order')}/"
    for n, ws in enumerate(
        [
            await ws_connect(f"{url}?ticket={secrets['ticket']}", origin=server.http),
            await ws_connect(url, token=secrets["access"]),
        ]
    ):
        await next_frame(ws, "hello")
        await ws.send(json.dumps({"type": "message.send", "content": "hi", "client_id": f"c{n}"}))
        chatter = frozenset({"presence", "typing", "read", "message.new"})
        await next_frame(ws, "message.ack", skip=chatter)  # the room's echo may come first
        await ws.close()
    await asyncio.to_thread(
        call, "POST", "/api/auth/logout", secrets["access"], {"refresh": secrets["rotated refresh"]}
    )
    server.stop()

    text = server.log_path.read_text()
    assert "DEBUG" in text, "daphne did not log at DEBUG"
    secrets |= {
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "SECRET_KEY": secret_key,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
    }
    assert leaked(text, secrets) == [], text[-5000:]
