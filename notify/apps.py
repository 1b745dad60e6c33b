from django.apps import AppConfig

from orders import hooks


class NotifyConfig(AppConfig):
    name = "notify"
    label = "notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: the recorder and the tasks import models, which can load only once
        # apps are ready. The tasks register with the Celery app (echo_site/celery.py).
        from . import message_rows, recording, tasks  # noqa: F401

        hooks.register_after_event(recording.notify_record)
        # PostgreSQL only: elsewhere messages take the general path and notify_record.
        hooks.register_message_statement_part(message_rows.MESSAGE_ROW)
