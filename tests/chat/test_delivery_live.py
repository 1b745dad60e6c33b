"""Deliveries live: delivery.new (with its files) and order.status reach both parties' rooms and
feeds, in timeline order, and a replay after ?after_seq= brings them again; message.send takes
files uploaded over REST first."""

from __future__ import annotations

import io
from typing import Any

import pytest
from channels.db import database_sync_to_async

from orders import deliveries
from orders.attachments.services import attachment_upload
from tests.orders.files import pdf_bytes, png_bytes

from .conftest import connect, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def _deliver(order: Any, creator: Any) -> Any:
    files = [
        attachment_upload(
            order=order, uploader=creator, stream=io.BytesIO(png_bytes()), name="a.png"
        ),
        attachment_upload(
            order=order, uploader=creator, stream=io.BytesIO(pdf_bytes()), name="b.pdf"
        ),
    ]
    return deliveries.delivery_submit(
        order=order, creator=creator, message="Done!", attachment_ids=[f.pk for f in files]
    )


async def test_a_delivery_reaches_both_rooms_and_feeds_then_the_move(
    make_order: Any, buyer: Any, creator: Any
) -> None:
    order = await database_sync_to_async(make_order)("IN_PROGRESS")
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    feed, _ = await connect("/ws/notifications/", user=buyer)
    delivery = await database_sync_to_async(_deliver)(order, creator)

    for comm in (b, c):
        new = await receive_until(comm, "delivery.new")
        assert new["seq"] == delivery.seq
        assert new["delivery"]["message"] == "Done!"
        assert [f["name"] for f in new["delivery"]["attachments"]] == ["a.png", "b.pdf"]
        assert new["delivery"]["attachments"][0]["has_preview"] is True
        moved = await receive_until(comm, "order.status")
        assert moved["order"]["status"] == "DELIVERED"
        assert moved["event"]["seq"] == delivery.seq + 1
    in_feed = await receive_until(feed, "delivery.new")
    assert in_feed["order_id"] == order.pk
    for comm in (b, c, feed):
        await comm.disconnect()


async def test_a_replay_after_seq_brings_the_delivery(
    make_order: Any, buyer: Any, creator: Any
) -> None:
    order = await database_sync_to_async(make_order)("IN_PROGRESS")
    before = order.last_seq
    delivery = await database_sync_to_async(_deliver)(order, creator)
    comm, hello = await connect(f"/ws/orders/{order.pk}/?after_seq={before}", user=buyer)
    assert hello["last_seq"] == before + 2
    new = await receive_until(comm, "delivery.new")
    assert new["seq"] == delivery.seq
    assert len(new["delivery"]["attachments"]) == 2
    moved = await receive_until(comm, "order.status")
    assert moved["event"]["seq"] == before + 2
    await receive_until(comm, "sync.done")
    await comm.disconnect()


async def test_message_send_carries_files_uploaded_first(
    order: Any, buyer: Any, creator: Any
) -> None:
    upload = await database_sync_to_async(attachment_upload)(
        order=order, uploader=buyer, stream=io.BytesIO(pdf_bytes()), name="spec.pdf"
    )
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await b.send_json_to(
        {
            "type": "message.send",
            "content": "spec",
            "client_id": "f1",
            "attachment_ids": [upload.pk],
        }
    )
    ack = await receive_until(b, "message.ack")
    assert [f["id"] for f in ack["message"]["attachments"]] == [upload.pk]
    new = await receive_until(c, "message.new")
    assert new["message"]["attachments"] == ack["message"]["attachments"]

    # A replay renders the same files (the replay's own SQL on PostgreSQL).
    late, _ = await connect(f"/ws/orders/{order.pk}/?after_seq=1", user=creator)
    replayed = await receive_until(late, "message.new")
    assert replayed["message"]["attachments"] == ack["message"]["attachments"]

    await b.send_json_to(
        {
            "type": "message.send",
            "content": "again",
            "client_id": "f2",
            "attachment_ids": [upload.pk],
        }
    )
    error = await receive_until(b, "error")
    assert error["code"] == "invalid"
    for comm in (b, c, late):
        await comm.disconnect()


async def test_a_revision_grant_is_on_the_timeline_live(
    make_order: Any, buyer: Any, creator: Any
) -> None:
    order = await database_sync_to_async(make_order)("IN_PROGRESS")
    await database_sync_to_async(type(order).objects.filter(pk=order.pk).update)(
        revisions_included=1
    )
    await database_sync_to_async(order.refresh_from_db)()
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    event = await database_sync_to_async(deliveries.revisions_grant)(
        order=order, creator=creator, count=2, note="On the house"
    )
    frame = await receive_until(b, "order.status")
    assert frame["event"]["kind"] == "revisions_granted"
    assert frame["event"]["seq"] == event.seq
    assert frame["order"]["revisions_granted"] == 2
    await b.disconnect()
