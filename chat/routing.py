"""Websocket routes, behind origin checks and handshake authentication (chat/auth.py)."""

from channels.routing import URLRouter
from django.urls import path

from .auth import websocket_auth_stack
from .consumers import (
    AdminDisputesConsumer,
    DisputeRoomConsumer,
    NotificationsConsumer,
    OrderRoomConsumer,
)

websocket_urlpatterns = [
    path("ws/orders/<int:order_id>/", OrderRoomConsumer.as_asgi()),
    path("ws/notifications/", NotificationsConsumer.as_asgi()),
    path("ws/disputes/<int:dispute_id>/", DisputeRoomConsumer.as_asgi()),
    path("ws/admin/disputes/", AdminDisputesConsumer.as_asgi()),
]

websocket_application = websocket_auth_stack(URLRouter(websocket_urlpatterns))
