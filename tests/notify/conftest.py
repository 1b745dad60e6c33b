from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import timezone

from chat import presence
from echo_site import realtime
from notify.models import Notification


def _forget_shared_presence() -> None:
    """With Redis, presence and last-seen times outlive a test (and a run: ids repeat in a new
    test database): start each test with none."""
    if not settings.REDIS_URL:
        return
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        for pattern in ("echo:presence:*", "echo:seen:*"):
            keys = list(client.scan_iter(match=pattern, count=500))
            if keys:
                client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _fresh_presence() -> Any:
    presence.reset_store()
    _forget_shared_presence()
    yield
    presence.reset_store()


@pytest.fixture
def later() -> Any:
    """`later(minutes)`: a time that many minutes from now (what the sender is told `now` is)."""
    return lambda minutes=0: timezone.now() + timedelta(minutes=minutes, seconds=1)


@pytest.fixture
def on_order(on_room: Any) -> Any:
    """`on_order(user, order)` gives the user a live socket in the order's room (presence);
    returns a function that takes it away again."""
    return lambda user, order, **kw: on_room(user, realtime.order_group(order.pk), **kw)


@pytest.fixture
def on_dispute(on_room: Any) -> Any:
    """`on_dispute(user, dispute)`: the same in the dispute's room."""
    return lambda user, dispute, **kw: on_room(user, realtime.dispute_group(dispute.pk), **kw)


@pytest.fixture
def on_room() -> Any:
    """`on_room(user, room)`: a live socket of the user in a room, as the rooms' consumers
    register one (chat's presence); returns a function that leaves again."""
    opened: list[tuple[str, int, str]] = []

    def join(user: Any, room: str, *, channel: str = "test-channel") -> Any:
        async_to_sync(presence.join)(room=room, user_id=user.pk, role="party", channel=channel)
        sroom, _ = presence.socket_entry(user_id=user.pk, channel=channel)
        async_to_sync(presence.sockets_open)(user_id=user.pk, channel=channel)
        opened.append((room, user.pk, channel))
        del sroom

        def leave() -> None:
            async_to_sync(presence.leave)(room=room, user_id=user.pk, role="party", channel=channel)
            async_to_sync(presence.sockets_close)(user_id=user.pk, channel=channel)

        return leave

    yield join
    for room, user_id, channel in opened:
        async_to_sync(presence.leave)(room=room, user_id=user_id, role="party", channel=channel)
        async_to_sync(presence.sockets_close)(user_id=user_id, channel=channel)


def rows_for(user: Any) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("id"))


def kinds_for(user: Any) -> list[str]:
    return [n.kind for n in rows_for(user)]
