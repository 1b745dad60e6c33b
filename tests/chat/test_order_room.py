"""The order room: hello, messages with acks, idempotent sends, status moves, read marks."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from orders import services
from orders.models import Message, ReadMark

from .conftest import connect, drain, receive_presence_of, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_hello_carries_snapshot_moves_seq_unread_and_presence(buyer, creator, order):
    await database_sync_to_async(services.message_post)(
        order=order, sender=buyer, content="hello there"
    )
    comm, hello = await connect(f"/ws/orders/{order.pk}/", user=creator)
    assert hello["order"]["id"] == order.pk
    assert hello["status"] == "PENDING"
    assert hello["allowed_moves"] == ["CANCELLED"]  # unpaid: not yet acceptable
    assert hello["last_seq"] == 2
    assert hello["unread"] == 1
    assert hello["you"] == {"user_id": creator.pk, "role": "creator"}
    assert {"user_id": creator.pk, "role": "creator"} in hello["online"]
    await comm.disconnect()


async def test_message_is_acked_to_sender_and_delivered_to_the_other_party(buyer, creator, order):
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await b.send_json_to({"type": "message.send", "content": " Hi! ", "client_id": "c-1"})
    ack = await receive_until(b, "message.ack")
    assert ack["client_id"] == "c-1"
    assert ack["message"]["content"] == "Hi!"
    assert ack["message"]["seq"] == 2
    new = await receive_until(c, "message.new")
    assert new["message"] == ack["message"]
    # The sender hears of its own message once, as the ack.
    assert all(f["type"] != "message.new" for f in await drain(b))
    await b.disconnect()
    await c.disconnect()


async def test_repeated_client_id_stores_nothing_new_and_acks_the_original(buyer, creator, order):
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await b.send_json_to({"type": "message.send", "content": "once", "client_id": "dup"})
    first = await receive_until(b, "message.ack")
    await b.send_json_to({"type": "message.send", "content": "once", "client_id": "dup"})
    second = await receive_until(b, "message.ack")
    assert second["message"]["id"] == first["message"]["id"]
    assert await database_sync_to_async(Message.objects.filter(order=order).count)() == 1
    await b.disconnect()


async def test_rest_status_move_reaches_both_parties_with_their_own_moves(
    buyer, creator, order, api
):
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await database_sync_to_async(services.order_move)(
        order=order, actor=buyer, to_status="CANCELLED", note="changed my mind"
    )
    for comm in (b, c):
        frame = await receive_until(comm, "order.status")
        assert frame["order"]["status"] == "CANCELLED"
        assert frame["event"]["from_status"] == "PENDING"
        assert frame["event"]["to_status"] == "CANCELLED"
        assert frame["event"]["note"] == "changed my mind"
        assert frame["event"]["seq"] == 2
        assert frame["order"]["allowed_moves"] == []
    await b.disconnect()
    await c.disconnect()


async def test_read_mark_is_stored_and_reaches_the_other_party(buyer, creator, order):
    await database_sync_to_async(services.message_post)(order=order, sender=buyer, content="x")
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c, hello = await connect(f"/ws/orders/{order.pk}/", user=creator)
    assert hello["unread"] == 1
    await c.send_json_to({"type": "read", "seq": 2})
    frame = await receive_until(b, "read")
    assert frame == {"type": "read", "order_id": order.pk, "user_id": creator.pk, "seq": 2}
    mark = await database_sync_to_async(ReadMark.objects.get)(order=order, user=creator)
    assert mark.last_read_seq == 2
    c2, hello2 = await connect(f"/ws/orders/{order.pk}/", user=creator)
    assert hello2["unread"] == 0
    for comm in (b, c, c2):
        await comm.disconnect()


async def test_send_on_a_closed_order_is_an_error_and_the_socket_stays(buyer, order):
    await database_sync_to_async(services.order_move)(
        order=order, actor=buyer, to_status="CANCELLED"
    )
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await b.send_json_to({"type": "message.send", "content": "anyone?", "client_id": "late"})
    error = await receive_until(b, "error")
    assert error["code"] == "order_closed"
    assert error["ref"] == "late"
    await b.send_json_to({"type": "ping"})
    assert (await receive_until(b, "pong"))["type"] == "pong"
    assert await database_sync_to_async(Message.objects.filter(order=order).count)() == 0
    await b.disconnect()


async def test_admin_joins_as_observer_and_cannot_post(admin_user, buyer, order):
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    a, hello = await connect(f"/ws/orders/{order.pk}/", user=admin_user)
    assert hello["you"]["role"] == "admin"
    presence_frame = await receive_presence_of(b, admin_user.pk, online=True)
    assert presence_frame == {
        "type": "presence",
        "user_id": admin_user.pk,
        "online": True,
        "role": "admin",
    }
    await a.send_json_to({"type": "message.send", "content": "hi", "client_id": "adm"})
    assert (await receive_until(a, "error"))["code"] == "not_a_party"
    await a.disconnect()
    await b.disconnect()
