from django.apps import AppConfig

from orders import hooks


class DisputesConfig(AppConfig):
    name = "disputes"

    def ready(self) -> None:
        # Imported here, not at module level: their models can be imported only once apps load.
        from . import selectors, services, tasks  # noqa: F401 - tasks: registers them

        hooks.register_move_guard(services.order_move_guard)  # 409 dispute_open
        hooks.register_fact(hooks.OPEN_DISPUTE_ID, selectors.ORDER_OPEN_DISPUTE_ID)
