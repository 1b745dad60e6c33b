"""Websocket routes, behind origin checks and handshake authentication (chat/auth.py).

Ids in paths are bounded to what the database stores (a signed 64-bit integer). A path that
matches no route (an unknown path, a bigger id) is accepted and closed with 4404, as an unknown
order is: no 500 at the handshake and no traceback in the log.
"""

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from django.urls import path, re_path, register_converter

from .auth import websocket_auth_stack
from .close_codes import CLOSE_NOT_FOUND
from .rooms.desk import AdminDisputesConsumer
from .rooms.dispute import DisputeRoomConsumer
from .rooms.notifications import NotificationsConsumer
from .rooms.order import OrderRoomConsumer

MAX_ID = 2**63 - 1


class IdConverter:
    """A positive id the database can hold; anything larger matches no route."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(value)
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id64")


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Any other path: accepted and closed with 4404 at once."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)

    async def receive(self, text_data: Any = None, bytes_data: Any = None) -> None:
        """Frames that were already on their way are dropped."""


websocket_urlpatterns = [
    path("ws/orders/<id64:order_id>/", OrderRoomConsumer.as_asgi()),
    path("ws/notifications/", NotificationsConsumer.as_asgi()),
    path("ws/disputes/<id64:dispute_id>/", DisputeRoomConsumer.as_asgi()),
    path("ws/admin/disputes/", AdminDisputesConsumer.as_asgi()),
]

websocket_application = websocket_auth_stack(
    URLRouter([*websocket_urlpatterns, re_path(r"", UnknownPathConsumer.as_asgi())])
)
