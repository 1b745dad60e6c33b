"""Bad input gets an error frame and the connection stays; oversized frames close with 1009."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from orders.models import Message

from .conftest import connect, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        ("", "empty_frame"),
        ("   ", "empty_frame"),
        ("[1, 2]", "invalid_frame"),
        ('{"content": "no type"}', "invalid_frame"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "message.send"}', "invalid"),
        ('{"type": "message.send", "content": 5}', "invalid"),
        ('{"type": "message.send", "content": "x", "client_id": 7}', "invalid"),
        ('{"type": "message.send", "content": "   "}', "invalid"),
        ('{"type": "typing", "active": "yes"}', "invalid"),
        ('{"type": "read", "seq": -1}', "invalid"),
        ('{"type": "read", "seq": true}', "invalid"),
        ('{"type": "sync"}', "invalid"),
        ("[" * 30000 + "]" * 30000, "malformed_json"),  # too deep for the parser
    ],
)
async def test_bad_frame_gets_an_error_and_the_socket_stays(buyer, order, raw, code):
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await comm.send_input({"type": "websocket.receive", "text": raw})
    error = await receive_until(comm, "error")
    assert error["code"] == code
    assert error["message"]
    await comm.send_json_to({"type": "message.send", "content": "still here", "client_id": "ok"})
    assert (await receive_until(comm, "message.ack"))["message"]["content"] == "still here"
    await comm.disconnect()


async def test_binary_frame_gets_an_error(buyer, order):
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await receive_until(comm, "error"))["code"] == "binary_not_supported"
    await comm.disconnect()


async def test_content_over_5000_characters_is_refused(buyer, order):
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await comm.send_json_to({"type": "message.send", "content": "x" * 5001, "client_id": "big"})
    error = await receive_until(comm, "error")
    assert (error["code"], error["ref"]) == ("invalid", "big")
    await comm.send_json_to({"type": "message.send", "content": "x" * 5000, "client_id": "max"})
    assert len((await receive_until(comm, "message.ack"))["message"]["content"]) == 5000
    await comm.disconnect()


async def test_frame_over_64_kib_closes_with_1009(buyer, order):
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await comm.send_to(text_data='{"type": "ping", "pad": "' + "x" * (64 * 1024) + '"}')
    while True:
        out = await comm.receive_output(timeout=5)
        if out["type"] == "websocket.close":
            break
    assert out["code"] == 1009


async def test_more_than_20_messages_in_10_seconds_is_rate_limited(buyer, order):
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    for n in range(21):
        await comm.send_json_to({"type": "message.send", "content": f"m{n}", "client_id": f"c{n}"})
    acks, errors = 0, []
    while acks + len(errors) < 21:
        frame = await comm.receive_json_from(timeout=5)
        if frame["type"] == "message.ack":
            acks += 1
        elif frame["type"] == "error":
            errors.append(frame)
    assert acks == 20
    assert [(e["code"], e["ref"]) for e in errors] == [("rate_limited", "c20")]
    assert await database_sync_to_async(Message.objects.filter(order=order).count)() == 20
    await comm.disconnect()


async def test_the_rate_window_slides_and_stays_bounded(monkeypatch, settings):
    from chat import transport

    settings.LIVE_RATE_WINDOW_SECONDS = 10.0
    clock = [1000.0]
    monkeypatch.setattr(transport.time, "monotonic", lambda: clock[0])
    consumer = transport.LiveConsumer()
    times: list[float] = []
    assert [consumer.within_rate(times, 3) for _ in range(4)] == [True, True, True, False]
    clock[0] += 5
    assert consumer.within_rate(times, 3) is False  # the first three are still in the window
    clock[0] += 5.01
    assert consumer.within_rate(times, 3) is True  # they have left it
    assert len(times) == 1
