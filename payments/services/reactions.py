"""What payments do when an order moves: the guard and the reactions.

orders knows nothing of payments: PaymentsConfig.ready() registers these into orders.hooks.
"""

from __future__ import annotations

from typing import Any

from echo_site.errors import ErrorCode, ServiceError
from orders.models import Order, OrderStatus

from ..models import PAID_STATUSES, Payment
from ._common import CANCEL_REFUND_KEY
from .payouts import payout_create
from .refunds import refund_create


def order_move_guard(*, order: Order, to_status: str, actor: Any) -> None:
    """Nobody accepts (PENDING -> IN_PROGRESS) an order the buyer has not paid."""
    if order.status == OrderStatus.PENDING and to_status == OrderStatus.IN_PROGRESS:
        paid = Payment.objects.filter(order_id=order.pk, status__in=PAID_STATUSES).exists()
        if not paid:
            raise ServiceError(
                ErrorCode.ORDER_NOT_PAID,
                "The buyer has not paid for this order yet; it cannot be accepted.",
                extra={"status": order.status},
            )


def order_moved(*, order: Order, from_status: str, to_status: str) -> None:
    """React to a move, inside order_move's transaction (the order row is locked)."""
    if to_status == OrderStatus.CANCELLED:
        payment = Payment.objects.filter(order_id=order.pk).first()
        if payment is not None and payment.status in PAID_STATUSES:
            refund_create(
                payment=payment,
                idempotency_key=CANCEL_REFUND_KEY,
                reason="Order cancelled",
            )
    elif to_status == OrderStatus.COMPLETED:
        payout_create(order=order)
