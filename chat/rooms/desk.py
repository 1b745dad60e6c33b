"""ws /ws/admin/disputes/ — the mediation desk's live queue (staff only)."""

from __future__ import annotations

from typing import Any

from disputes.live import dispute_data
from disputes.selectors import dispute_list_open
from echo_site import events, realtime

from ..close_codes import CLOSE_FORBIDDEN
from ..db import in_db_thread
from ..transport import LiveConsumer


class AdminDisputesConsumer(LiveConsumer):
    """ws /ws/admin/disputes/ — the mediation desk's live queue (staff only)."""

    async def open(self) -> bool:
        if not self.user.is_staff:
            await self.close_with(CLOSE_FORBIDDEN)
            return False
        self.queue = realtime.admin_disputes_group()
        await self.join_group(self.queue)

        def open_disputes() -> list[dict[str, Any]]:
            return [dispute_data(d) for d in dispute_list_open()[:500]]

        disputes = await in_db_thread(open_disputes)()
        hello: events.DeskHello = {"type": events.HELLO, "room": "admin.disputes", "open": disputes}
        await self.send_json(hello)
        return True

    async def on_live_event(self, event: str, data: dict[str, Any]) -> None:
        await self.send_json({"type": event, **data})
