"""The message rate limit is per user, across all of the user's sockets (per process without
Redis; shared through Redis, across processes: tests/live/test_user_rate_limit.py)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from chat import ratelimit
from orders.models import Message

from .conftest import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def outcomes(comm, client_ids: list[str]) -> list[str]:
    for client_id in client_ids:
        await comm.send_json_to(
            {"type": "message.send", "content": client_id, "client_id": client_id}
        )
    seen = []
    while len(seen) < len(client_ids):
        frame = await comm.receive_json_from(timeout=5)
        if frame["type"] == "message.ack":
            seen.append("ack")
        elif frame["type"] == "error":
            seen.append(frame["code"])
    return seen


async def test_a_second_socket_does_not_get_a_second_allowance(buyer, order, make_order, settings):
    settings.LIVE_MESSAGES_PER_WINDOW = 4
    other_order = await database_sync_to_async(make_order)("PENDING")
    first, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    second, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    elsewhere, _ = await connect(f"/ws/orders/{other_order.pk}/", user=buyer)
    assert await outcomes(first, ["a1", "a2"]) == ["ack", "ack"]
    assert await outcomes(second, ["b1"]) == ["ack"]
    assert await outcomes(elsewhere, ["c1", "c2"]) == ["ack", "rate_limited"]
    assert await outcomes(first, ["a3"]) == ["rate_limited"]
    stored = await database_sync_to_async(
        Message.objects.filter(sender=buyer, client_id__isnull=False).count
    )()
    assert stored == 4
    for comm in (first, second, elsewhere):
        await comm.disconnect()


async def test_other_users_have_their_own_allowance(buyer, creator, order, settings):
    settings.LIVE_MESSAGES_PER_WINDOW = 1
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    assert await outcomes(b, ["b1", "b2"]) == ["ack", "rate_limited"]
    assert await outcomes(c, ["c1"]) == ["ack"]
    await b.disconnect()
    await c.disconnect()


@pytest.mark.services
async def test_while_redis_is_down_the_limit_is_counted_per_process_never_unlimited(
    private_redis, settings
):
    settings.REDIS_URL = private_redis.url
    settings.LIVE_MESSAGES_PER_WINDOW = 3
    ratelimit.reset()
    try:
        assert [await ratelimit.message_allowed(user_id=1) for _ in range(4)] == [
            True,
            True,
            True,
            False,
        ]
        private_redis.stop()
        allowed = [await ratelimit.message_allowed(user_id=2) for _ in range(5)]
        assert allowed == [True, True, True, False, False]
    finally:
        ratelimit.reset()
