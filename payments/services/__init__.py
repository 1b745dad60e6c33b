"""Every payment write, one module per capability; callers use `from payments import services`.

Keyword-only, typed, each owning its transaction. Calls to the gateway (Stripe) never run inside
a transaction that holds the order's row lock: the Refund or Payout row is recorded in the
transaction, and the gateway call runs after commit (`transaction.on_commit`) under an idempotency
key derived from the row. A failed call leaves the row FAILED; `manage.py payments_retry` calls the
same `refund_execute` / `payout_execute` again with the same key.

Lock order, everywhere: order row, then payment row, then payout row.

Modules, bottom up: fees, refunds, payouts, paying, connect, retries, webhooks, reactions (the
order-move guard and reactions that PaymentsConfig.ready() registers into orders.hooks).
"""

from ._common import CANCEL_REFUND_KEY, transfer_group_for
from .connect import account_connect, account_sync
from .fees import creator_share_of, platform_fee_for
from .paying import payment_mark_failed, payment_mark_succeeded, payment_start
from .payouts import payout_create, payout_execute
from .reactions import order_move_guard, order_moved
from .refunds import refund_create, refund_execute
from .retries import payments_due, payments_retry, payouts_release_waiting
from .webhooks import WEBHOOK_TOLERANCE_SECONDS, webhook_handle

__all__ = [
    "CANCEL_REFUND_KEY",
    "WEBHOOK_TOLERANCE_SECONDS",
    "account_connect",
    "account_sync",
    "creator_share_of",
    "order_move_guard",
    "order_moved",
    "payment_mark_failed",
    "payment_mark_succeeded",
    "payment_start",
    "payments_due",
    "payments_retry",
    "payouts_release_waiting",
    "payout_create",
    "payout_execute",
    "platform_fee_for",
    "refund_create",
    "refund_execute",
    "transfer_group_for",
    "webhook_handle",
]
