"""The caller's own feed: every event on every order where they are a party."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from orders import services

from .conftest import connect, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_creator_hears_of_new_orders_messages_and_moves(buyer, creator, item, outsider):
    feed, hello = await connect("/ws/notifications/", user=creator)
    assert hello["user_id"] == creator.pk
    order = await database_sync_to_async(services.order_place)(buyer=buyer, item=item)
    created = await receive_until(feed, "order.created")
    assert created["order"]["id"] == order.pk
    # Unpaid: the creator cannot accept yet, only cancel.
    assert created["order"]["allowed_moves"] == ["CANCELLED"]

    await database_sync_to_async(services.message_post)(
        order=order, sender=buyer, content="y" * 200
    )
    new = await receive_until(feed, "message.new")
    assert new["order_id"] == order.pk
    assert new["message"]["content"] == "y" * 80
    assert new["message"]["preview"] is True

    await database_sync_to_async(services.order_move)(
        order=order, actor=buyer, to_status="CANCELLED"
    )
    moved = await receive_until(feed, "order.status")
    assert moved["order"]["status"] == "CANCELLED"

    other_feed, _ = await connect("/ws/notifications/", user=outsider)
    assert await other_feed.receive_nothing(timeout=0.3)
    await feed.disconnect()
    await other_feed.disconnect()


async def test_feed_hello_carries_unread_counts(buyer, creator, order):
    await database_sync_to_async(services.message_post)(order=order, sender=buyer, content="a")
    await database_sync_to_async(services.message_post)(order=order, sender=buyer, content="b")
    feed, hello = await connect("/ws/notifications/", user=creator)
    assert hello["unread"] == {str(order.pk): 2}
    await feed.disconnect()
    feed, hello = await connect("/ws/notifications/", user=buyer)
    assert hello["unread"] == {}
    await feed.disconnect()


async def test_feed_needs_authentication(db):
    from .conftest import communicator

    comm = communicator("/ws/notifications/")
    await comm.connect(timeout=5)
    assert (await comm.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4401}
