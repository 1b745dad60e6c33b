"""Websocket routes, behind origin checks and handshake authentication (chat/auth.py)."""

from channels.routing import URLRouter
from django.urls import path

from .auth import websocket_auth_stack
from .consumers import NotificationsConsumer, OrderRoomConsumer

websocket_urlpatterns = [
    path("ws/orders/<int:order_id>/", OrderRoomConsumer.as_asgi()),
    path("ws/notifications/", NotificationsConsumer.as_asgi()),
]

websocket_application = websocket_auth_stack(URLRouter(websocket_urlpatterns))
