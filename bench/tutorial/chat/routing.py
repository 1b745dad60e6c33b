from __future__ import annotations

from django.urls import path

from . import consumers

websocket_urlpatterns = [path("ws/room/<int:room>/", consumers.ChatConsumer.as_asgi())]
