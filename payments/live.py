"""What payments announce to live clients, after commit, through echo_site.realtime.

Every event goes to the order's room and to both parties' notification feeds, with plain JSON
values (ids, decimal strings, ISO times).
"""

from __future__ import annotations

from typing import Any

from echo_site import events
from echo_site.realtime import broadcast_on_commit
from orders.live import order_groups

from .models import Payment, Payout, PayoutStatus, Refund
from .serializers import PaymentSerializer, PayoutSerializer, RefundSerializer


def payment_data(payment: Payment) -> dict[str, Any]:
    return dict(PaymentSerializer(payment).data)


def _announce(payment: Payment, event: str, extra: dict[str, Any] | None = None) -> None:
    broadcast_on_commit(
        groups=order_groups(payment.order),
        event=event,
        data={"order_id": payment.order_id, "payment": payment_data(payment), **(extra or {})},
    )


def payment_succeeded(*, payment: Payment) -> None:
    _announce(payment, events.PAYMENT_SUCCEEDED)


def payment_failed(*, payment: Payment) -> None:
    _announce(payment, events.PAYMENT_FAILED)


def payment_refunded(*, payment: Payment, refund: Refund) -> None:
    _announce(payment, events.PAYMENT_REFUNDED, {"refund": dict(RefundSerializer(refund).data)})


PAYOUT_EVENTS = {
    PayoutStatus.WAITING_FOR_ACCOUNT: events.PAYOUT_WAITING,
    PayoutStatus.PENDING: events.PAYOUT_PENDING,
    PayoutStatus.PAID: events.PAYOUT_PAID,
    PayoutStatus.FAILED: events.PAYOUT_FAILED,
    PayoutStatus.NOT_NEEDED: events.PAYOUT_NOT_NEEDED,
}


def payout_changed(*, payout: Payout) -> None:
    event = PAYOUT_EVENTS[PayoutStatus(payout.status)]
    _announce(payout.payment, event, {"payout": dict(PayoutSerializer(payout).data)})
