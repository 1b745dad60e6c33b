"""ws /ws/notifications/ — everything on every order where the caller is a party."""

from __future__ import annotations

from typing import Any

from echo_site import events, realtime

from ..db import in_db_thread
from ..transport import LiveConsumer
from .order_frames import unread_by_order, with_allowed_moves


class NotificationsConsumer(LiveConsumer):
    """ws /ws/notifications/ — everything on every order where the caller is a party."""

    async def open(self) -> bool:
        self.feed = realtime.user_group(self.user.pk)
        await self.join_group(self.feed)
        unread = await in_db_thread(unread_by_order)(self.user)
        hello: events.NotificationsHello = {
            "type": events.HELLO,
            "room": "notifications",
            "user_id": self.user.pk,
            "unread": unread,
        }
        await self.send_json(hello)
        return True

    async def on_live_event(self, event: str, data: dict[str, Any]) -> None:
        if event in (
            events.ORDER_STATUS,
            events.ORDER_CREATED,
            events.ORDER_LATE,
            events.ORDER_REMINDER,
        ):
            data = {**data, "order": with_allowed_moves(data["order"], self.user)}
        await self.send_json({"type": event, **data})
