from django.apps import AppConfig

from orders import hooks


class PaymentsConfig(AppConfig):
    name = "payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at module level: their models can be imported only once apps load.
        from . import selectors, services, tasks  # noqa: F401 - tasks: registers them

        hooks.register_move_guard(services.order_move_guard)  # 409 order_not_paid
        hooks.register_after_move(services.order_moved)  # refund on cancel, payout on completion
        hooks.register_fact(hooks.IS_PAID, selectors.ORDER_IS_PAID)
        hooks.register_payments_simulated(selectors.payments_simulated)
