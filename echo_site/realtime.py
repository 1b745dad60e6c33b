"""The one place that broadcasts to live clients.

Services call `broadcast_on_commit`; the event goes out through the channel layer only after the
surrounding transaction commits, so no client hears of a row that later rolled back. A broadcast
that fails (Redis down, say) is logged and swallowed: the write already succeeded, and clients
recover what they missed from the database with `sync`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

# Group handlers on the consumers: the layer calls `<type with "." replaced by "_">`.
LIVE_EVENT = "live.event"


def order_group(order_id: int) -> str:
    return f"order.{order_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def broadcast_on_commit(*, groups: Iterable[str], event: str, data: dict[str, Any]) -> None:
    """Send `{"type": "live.event", "event": event, "data": data}` to `groups` after commit.

    `data` must be plain JSON values (ids, strings, ISO times, decimal strings).
    """
    group_list = list(groups)
    message = {"type": LIVE_EVENT, "event": event, "data": data}
    transaction.on_commit(lambda: _send(group_list, message))


def _send(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:
            logger.exception("broadcast failed: event=%s group=%s", message.get("event"), group)
