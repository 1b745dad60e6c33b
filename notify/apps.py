from django.apps import AppConfig

from orders import hooks


class NotifyConfig(AppConfig):
    name = "notify"
    label = "notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: the recorder imports models, which can load only once apps are ready.
        from . import recording

        hooks.register_after_event(recording.notify_record)
