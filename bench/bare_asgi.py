"""Baseline: a bare Channels broadcast consumer (no auth, no database), served by daphne on the
same Redis as ECHO through channels-redis's stock RedisPubSubChannelLayer (what a Channels user
picks; ECHO runs its own layer, wire-compatible with it, that publishes in pipelines:
echo_site/channel_layer.py).

    python -m echo_site.serve -b 127.0.0.1 -p PORT bench.bare_asgi:application

ws /ws/room/{room}/ : group_add on connect; every text frame is group_sent to the room and every
member (the sender included) receives it. This is the stock consumer a Channels user writes first:
it keeps channels' default dispatch.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_site.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

if settings.REDIS_URL:
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [settings.REDIS_URL]},
        }
    }

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class BareRoomConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = f"bare.{self.scope['url_route']['kwargs']['room']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: Any = None) -> None:
        if text_data is not None:
            await self.channel_layer.group_send(
                self.group, {"type": "room.frame", "text": text_data}
            )

    async def room_frame(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/room/<int:room>/", BareRoomConsumer.as_asgi())])}
)
