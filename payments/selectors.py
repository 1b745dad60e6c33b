"""Reads and access checks for payments."""

from __future__ import annotations

from typing import Any

from echo_site.errors import ErrorCode, ServiceError
from orders.models import Order
from orders.selectors import order_get_for_user

from .gateway import is_simulated
from .models import PAID_STATUSES, Payment


def payment_for_order(*, order: Order) -> Payment | None:
    return (
        Payment.objects.select_related("payout")
        .prefetch_related("refunds")
        .filter(order_id=order.pk)
        .first()
    )


def payment_get_for_user(*, order_id: int, user: Any) -> Payment:
    """The order's payment for its parties and admins: 404 unknown order or no payment yet."""
    order = order_get_for_user(order_id=order_id, user=user)
    payment = payment_for_order(order=order)
    if payment is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"Order {order_id} has no payment yet.")
    return payment


def order_is_paid(*, order: Order) -> bool:
    """The buyer's money is with the platform (succeeded, or only partly refunded)."""
    if hasattr(order, "state_is_paid"):  # read with the order (with_payment_and_dispute_state)
        return bool(order.state_is_paid)
    return Payment.objects.filter(order_id=order.pk, status__in=PAID_STATUSES).exists()


def payments_simulated() -> bool:
    return is_simulated()
