from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "disputes"

    def ready(self) -> None:
        # Imported here, not at module level: models and the apps below are loaded only now.
        from orders import hooks

        from . import selectors, services

        hooks.register_move_guard(services.order_move_guard)  # 409 dispute_open
        hooks.register_fact(hooks.OPEN_DISPUTE_ID, selectors.ORDER_OPEN_DISPUTE_ID)
