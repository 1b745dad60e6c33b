from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from chat import presence
from echo_site import realtime
from notify.models import Notification


@pytest.fixture(autouse=True)
def _fresh_presence() -> Any:
    presence.reset_store()
    yield
    presence.reset_store()


@pytest.fixture
def later() -> Any:
    """`later(minutes)`: a time that many minutes from now (what the sender is told `now` is)."""
    return lambda minutes=0: timezone.now() + timedelta(minutes=minutes, seconds=1)


@pytest.fixture
def on_order() -> Any:
    """`on_order(user, order)` gives the user a live socket in the order's room (presence);
    returns a function that takes it away again."""
    opened: list[tuple[str, int, str]] = []

    def join(user: Any, order: Any, *, channel: str = "test-channel") -> Any:
        room = realtime.order_group(order.pk)
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
