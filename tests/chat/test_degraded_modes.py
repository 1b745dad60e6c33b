"""What a socket sees when a store is down. A credential or a room that cannot be read (the ticket
store or the database is down) closes the socket with 4503, "try again later", never 1011 and
never 4401 (which means "sign in again"); a frame that cannot be handled for the same reason gets
a `service_unavailable` error frame and the socket stays."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from chat import auth

from .conftest import ORIGIN, communicator, connect, receive_until
from .test_handshake_auth import closed_with

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_a_ticket_store_that_is_down_closes_4503(buyer, order, monkeypatch):
    def down(ticket: str) -> Any:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(auth, "ticket_redeem", down)
    comm = communicator(f"/ws/orders/{order.pk}/?ticket=t-123", origin=ORIGIN)
    await closed_with(comm, 4503)


async def test_a_database_that_is_down_at_the_handshake_closes_4503(buyer, order, monkeypatch):
    async def down(user_id: int, issued_at: Any) -> Any:
        raise OperationalError("connection to server at 127.0.0.1 failed")

    monkeypatch.setattr(auth, "active_user", down)
    await closed_with(communicator(f"/ws/orders/{order.pk}/", user=buyer), 4503)


async def test_a_database_that_is_down_when_the_room_opens_closes_4503(buyer, order, monkeypatch):
    from chat.timeline import RoomConsumer

    def down(self: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(RoomConsumer, "authorize_and_hello", down)
    await closed_with(communicator(f"/ws/orders/{order.pk}/", user=buyer), 4503)


async def test_a_send_while_the_database_is_down_gets_an_error_frame_and_the_socket_stays(
    buyer, order, monkeypatch
):
    from chat.rooms.order import OrderRoomConsumer

    def down(self: Any, content: str, client_id: str | None, attachment_ids: Any = None) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    socket, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    monkeypatch.setattr(OrderRoomConsumer, "post_message", down)
    await socket.send_json_to(
        {"type": "message.send", "content": "hi", "client_id": "c-1", "ref": "c-1"}
    )
    error = await receive_until(socket, "error")
    assert (error["code"], error["ref"]) == ("service_unavailable", "c-1")
    await socket.send_json_to({"type": "ping"})
    assert (await receive_until(socket, "pong"))["type"] == "pong"
    await socket.disconnect()


async def test_the_per_user_cap_holds_per_process_while_the_presence_store_is_down(
    buyer, order, settings, monkeypatch
):
    from chat import presence

    async def down(**kwargs: Any) -> int:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(presence, "sockets_open", down)
    settings.LIVE_MAX_SOCKETS_PER_USER = 2
    sockets = [(await connect(f"/ws/orders/{order.pk}/", user=buyer))[0] for _ in range(2)]
    await closed_with(communicator(f"/ws/orders/{order.pk}/", user=buyer), 4429)
    for socket in sockets:
        await socket.disconnect()
