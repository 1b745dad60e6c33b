"""A routine disconnect is not an error: an event that reaches a socket the client is closing
(daphne/autobahn raise `Disconnected` on the send) is dropped without an ERROR log."""

from __future__ import annotations

import asyncio
import logging

import pytest
from autobahn.exception import Disconnected
from channels.testing import WebsocketCommunicator

from echo_site.asgi import application

from .conftest import bearer, connect, receive_presence_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def closing_after(closing: asyncio.Event):
    """The app, behind a server whose socket refuses sends once the client started closing."""

    async def app(scope, receive, send):
        async def send_or_refuse(message):
            if closing.is_set() and message["type"] == "websocket.send":
                raise Disconnected("Attempt to send on a closed protocol")
            await send(message)

        return await application(scope, receive, send_or_refuse)

    return app


async def test_presence_reaching_a_closing_socket_is_not_logged_as_error(
    buyer, creator, order, caplog
):
    caplog.set_level(logging.INFO)
    closing = asyncio.Event()
    headers = [(b"authorization", f"Bearer {bearer(buyer)}".encode())]
    b = WebsocketCommunicator(closing_after(closing), f"/ws/orders/{order.pk}/", headers=headers)
    assert (await b.connect(timeout=5))[0]
    assert (await b.receive_json_from(timeout=5))["type"] == "hello"
    watcher, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)  # the buyer's other tab
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    closing.set()  # the buyer's first socket is closing: its close frame is in
    await c.disconnect()  # ... when the creator leaves and presence reaches it
    await receive_presence_of(watcher, creator.pk, online=False)
    await asyncio.sleep(0.2)
    await b.disconnect()
    await watcher.disconnect()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
