"""Websocket routes. The live order rooms arrive with the live-rooms work."""

from channels.routing import URLRouter

websocket_urlpatterns: list = []

websocket_application = URLRouter(websocket_urlpatterns)
