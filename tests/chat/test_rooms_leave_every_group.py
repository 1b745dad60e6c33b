"""A closed socket leaves every group it joined, whatever its room: the transport leaves what each
room joined through `join_group` (chat/transport.py), so no room has to remember to."""

from __future__ import annotations

from typing import Any

import pytest
from channels.layers import get_channel_layer

from chat.fanout import fanout

from .conftest import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def members_by_group() -> dict[str, int]:
    return {name: len(group.members) for name, group in fanout(get_channel_layer()).groups.items()}


@pytest.mark.parametrize("room", ["order", "notifications", "desk"])
async def test_every_group_is_left_on_disconnect(room: str, buyer, admin_user, order: Any):
    path, user = {
        "order": (f"/ws/orders/{order.pk}/", buyer),
        "notifications": ("/ws/notifications/", buyer),
        "desk": ("/ws/admin/disputes/", admin_user),
    }[room]
    comm, _ = await connect(path, user=user)
    joined = {name for name, count in members_by_group().items() if count}
    assert len(joined) >= 2, joined  # the room's group and the user's sockets group
    await comm.disconnect()
    left_behind = {name: n for name, n in members_by_group().items() if name in joined and n}
    assert left_behind == {}
