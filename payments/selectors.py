"""Reads and access checks for payments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import Exists, OuterRef

from echo_site.errors import ErrorCode, ServiceError
from echo_site.prepared import sql_constants
from orders.hooks import OrderFact
from orders.models import Order
from orders.selectors import order_get_for_user

from .gateway import CENT, is_simulated
from .models import FUNDED_STATUSES, PAID_STATUSES, Payment, Payout, Refund


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


def _paid(order_id: int) -> bool:
    """The buyer's money is with the platform (succeeded, or only partly refunded)."""
    return Payment.objects.filter(order_id=order_id, status__in=PAID_STATUSES).exists()


def _paid_sql() -> str:
    return f"""EXISTS (SELECT 1 FROM {Payment._meta.db_table} p
            WHERE p.order_id = o.id AND p.status IN ({sql_constants(PAID_STATUSES)}))"""  # noqa: S608 - our own table name and constants


# "is_paid", as orders reads it (orders.hooks; registered by PaymentsConfig.ready()).
ORDER_IS_PAID = OrderFact(
    annotation=lambda: Exists(
        Payment.objects.filter(order_id=OuterRef("pk"), status__in=PAID_STATUSES)
    ),
    sql=_paid_sql,
    read=_paid,
)


def payments_simulated() -> bool:
    return is_simulated()


def money_needing_admin(*, limit: int = 100) -> list[dict[str, Any]]:
    """Payouts and refunds the worker gave up on (PAYMENTS_RETRY_MAX_ATTEMPTS failed attempts),
    for the mediation desk: what, for which order, how many attempts, and why."""
    rows: list[dict[str, Any]] = []
    for payout in Payout.objects.filter(needs_admin=True).select_related("payment")[:limit]:
        rows.append(
            {
                "kind": "Payout",
                "id": payout.pk,
                "order_id": payout.payment.order_id,
                "amount": payout.amount,
                "attempts": payout.attempts,
                "reason": payout.last_error,
                "updated_at": payout.updated_at,
            }
        )
    for refund in Refund.objects.filter(needs_admin=True).select_related("payment")[:limit]:
        rows.append(
            {
                "kind": "Refund",
                "id": refund.pk,
                "order_id": refund.payment.order_id,
                "amount": refund.amount,
                "attempts": refund.attempts,
                "reason": refund.last_error,
                "updated_at": refund.updated_at,
            }
        )
    return sorted(rows, key=lambda row: row["updated_at"])


def platform_fee_percent() -> Decimal:
    """PLATFORM_FEE_PERCENT: what the money panels preview before a payment stores its fee."""
    return Decimal(settings.PLATFORM_FEE_PERCENT)


class RefundRoom(TypedDict):
    """What an admin closing a dispute needs: paid, refunded so far, the largest partial refund."""

    currency: str
    paid: Decimal
    refunded: Decimal
    left: Decimal
    max_partial_refund: Decimal | None


def refund_room(*, order: Order) -> RefundRoom:
    """A partial refund must be above 0 and below what is left (the whole rest is a full refund)."""
    payment = Payment.objects.filter(order_id=order.pk, status__in=FUNDED_STATUSES).first()
    if payment is None:
        zero = Decimal("0.00")
        return {
            "currency": "EUR",
            "paid": zero,
            "refunded": zero,
            "left": zero,
            "max_partial_refund": None,
        }
    left = payment.total_amount - payment.refunded_amount
    cap = left - CENT
    return {
        "currency": payment.currency.upper() or "EUR",
        "paid": payment.total_amount,
        "refunded": payment.refunded_amount,
        "left": left,
        "max_partial_refund": cap if cap > 0 else None,
    }
