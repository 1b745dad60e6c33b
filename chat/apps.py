from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self) -> None:
        # Registers the clean-up task with the Celery app (echo_site/celery.py).
        from . import tasks  # noqa: F401
