from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the order rules' tasks with the Celery app (echo_site/celery.py).
        from . import tasks  # noqa: F401
