from __future__ import annotations

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "bench.tutorial.chat"
    label = "chat"
