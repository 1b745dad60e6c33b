"""Websocket input is as strict as REST: the same text is refused (with an error frame, the socket
stays), seqs past the room's end or past 64 bits never crash, typing on a closed thread is
refused like a message, unknown paths close cleanly. Both passes (in-memory layer and SQLite;
Redis and PostgreSQL)."""

from __future__ import annotations

import logging

import pytest
from channels.db import database_sync_to_async

from disputes.models import DisputeMessage
from orders.models import Message

from .conftest import communicator, connect, drain, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def dispute(make_order, buyer):
    from disputes import services

    order = make_order("IN_PROGRESS")
    return services.dispute_open(
        order=order, opened_by=buyer, reason="The delivery is not what we agreed on."
    )


# Text REST refuses in a message (DRF's CharField validators).
REFUSED_TEXT = ["a\x00b", "\x00", "nul at the end\x00"]


def _rest_answer(api, user, order, content: str) -> tuple[int, dict]:
    response = api(user).post(
        f"/api/orders/{order.pk}/messages", {"content": content, "client_id": "r"}, format="json"
    )
    return response.status_code, response.json()


@pytest.mark.parametrize("content", REFUSED_TEXT)
async def test_text_rest_refuses_is_refused_in_a_frame_and_the_socket_stays(
    api, buyer, order, content
):
    status, body = await database_sync_to_async(_rest_answer)(api, buyer, order, content)
    assert status == 400 and body["code"] == "invalid"

    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await comm.send_json_to({"type": "message.send", "content": content, "client_id": "nul"})
    error = await receive_until(comm, "error")
    assert (error["code"], error["ref"]) == ("invalid", "nul")
    assert error["message"] == body["error"]  # the same words as REST: the same serializer
    await comm.send_json_to({"type": "message.send", "content": "fine", "client_id": "ok"})
    assert (await receive_until(comm, "message.ack"))["message"]["content"] == "fine"
    assert await database_sync_to_async(Message.objects.filter(order=order).count)() == 1
    await comm.disconnect()


async def test_a_lone_surrogate_is_refused_by_rest_and_in_a_frame(api, buyer, order):
    body = '{"content": "a\\ud800b"}'

    def post() -> int:
        return (
            api(buyer)
            .post(f"/api/orders/{order.pk}/messages", body, content_type="application/json")
            .status_code
        )

    assert await database_sync_to_async(post)() == 400
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await comm.send_to(text_data='{"type": "message.send", "content": "a\\ud800b"}')
    assert (await receive_until(comm, "error"))["code"] == "malformed_json"
    await comm.send_json_to({"type": "ping"})
    await receive_until(comm, "pong")
    assert not await database_sync_to_async(Message.objects.filter(order=order).exists)()
    await comm.disconnect()


async def test_a_client_id_rest_refuses_is_refused_in_a_frame(buyer, order):
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await comm.send_json_to(
        {"type": "message.send", "content": "hi", "client_id": "x\x00y", "ref": "r1"}
    )
    error = await receive_until(comm, "error")
    assert (error["code"], error["ref"]) == ("invalid", "r1")
    assert error["message"].startswith("client_id:")
    await comm.disconnect()


async def test_text_rest_refuses_is_refused_in_a_dispute_frame(buyer, dispute):
    comm, _ = await connect(f"/ws/disputes/{dispute.pk}/", user=buyer)
    await comm.send_json_to({"type": "message.send", "content": "a\x00b", "client_id": "d1"})
    error = await receive_until(comm, "error")
    assert (error["code"], error["ref"]) == ("invalid", "d1")
    await comm.send_json_to({"type": "ping"})
    await receive_until(comm, "pong")
    assert not await database_sync_to_async(DisputeMessage.objects.exists)()
    await comm.disconnect()


@pytest.mark.parametrize("after", [10, 2**63 - 1, 2**63, 2**64 - 1])
async def test_sync_past_the_rooms_end_is_clamped_and_live_entries_still_arrive(
    buyer, creator, order, after
):
    b, hello = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    last = hello["last_seq"]
    await b.send_json_to({"type": "sync", "after_seq": after})
    assert (await receive_until(b, "sync.done"))["last_seq"] == last
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await c.send_json_to({"type": "message.send", "content": "after the future", "client_id": "f"})
    arrived = await receive_until(b, "message.new")
    assert arrived["message"]["seq"] == last + 1
    await b.send_json_to({"type": "ping"})
    assert (await receive_until(b, "pong"))["last_seq"] == last + 1
    await b.disconnect()
    await c.disconnect()


@pytest.mark.parametrize("after", ["10", str(2**63), str(2**64 + 5), "9" * 40])
async def test_after_seq_in_the_url_past_the_end_is_clamped(buyer, creator, order, after):
    b, hello = await connect(f"/ws/orders/{order.pk}/?after_seq={after}", user=buyer)
    assert (await receive_until(b, "sync.done"))["last_seq"] == hello["last_seq"]
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await c.send_json_to({"type": "message.send", "content": "live", "client_id": "l"})
    assert (await receive_until(b, "message.new"))["message"]["content"] == "live"
    await b.disconnect()
    await c.disconnect()


async def test_a_seq_past_64_bits_is_an_error_frame_not_a_crash(buyer, order):
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    for ref, frame in enumerate(
        (
            '{"type": "sync", "after_seq": 18446744073709551616, "ref": 0}',
            '{"type": "read", "seq": 99999999999999999999999, "ref": 1}',
            '{"type": "sync", "after_seq": 1e300, "ref": 2}',
        )
    ):
        await comm.send_to(text_data=frame)
        error = await receive_until(comm, "error")
        assert error["code"] in {"invalid", "malformed_json"}
        assert error["ref"] == ref
    await comm.send_json_to({"type": "read", "seq": 2**64 - 1})
    await comm.send_json_to({"type": "ping"})
    await receive_until(comm, "pong")
    await comm.disconnect()


@pytest.mark.parametrize("status", ["COMPLETED", "CANCELLED"])
async def test_typing_on_a_closed_order_is_refused_like_a_message(
    make_order, buyer, creator, status
):
    order = await database_sync_to_async(make_order)(status)
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await c.send_json_to({"type": "message.send", "content": "x", "client_id": "m"})
    refused_message = await receive_until(c, "error")
    await c.send_json_to({"type": "typing", "active": True, "ref": "t"})
    refused_typing = await receive_until(c, "error")
    assert refused_typing["code"] == refused_message["code"] == "order_closed"
    assert refused_typing["message"] == refused_message["message"]
    assert refused_typing["ref"] == "t"
    assert not [f for f in await drain(b, timeout=0.5) if f["type"] == "typing"]
    await b.disconnect()
    await c.disconnect()


async def test_typing_on_an_order_closed_while_connected_is_refused(buyer, creator, order):
    from orders import services

    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await database_sync_to_async(services.order_move)(
        order=order, actor=buyer, to_status="CANCELLED"
    )
    await c.send_json_to({"type": "typing", "active": True})
    frame = await c.receive_json_from(timeout=5)
    while frame["type"] != "error":
        assert frame["type"] in {"order.status", "presence"}, frame
        frame = await c.receive_json_from(timeout=5)
    assert frame["code"] == "order_closed"
    await c.disconnect()


async def test_typing_in_a_closed_dispute_is_refused(buyer, dispute):
    from disputes.models import Dispute, DisputeStatus

    await database_sync_to_async(Dispute.objects.filter(pk=dispute.pk).update)(
        status=DisputeStatus.CLOSED
    )
    comm, _ = await connect(f"/ws/disputes/{dispute.pk}/", user=buyer)
    await comm.send_json_to({"type": "typing", "active": True, "ref": 5})
    error = await receive_until(comm, "error")
    assert (error["code"], error["ref"]) == ("dispute_closed", 5)
    await comm.disconnect()


@pytest.mark.parametrize(
    "path",
    [
        "/ws/nowhere/",
        "/ws/orders/abc/",
        "/ws/orders/",
        "/ws/orders/99999999999999999999/",
        f"/ws/orders/{2**63}/",
        "/ws/disputes/99999999999999999999999999/",
        "/",
    ],
)
async def test_unknown_paths_close_4404_cleanly(buyer, path, caplog):
    caplog.set_level(logging.ERROR)
    comm = communicator(path, user=buyer)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
