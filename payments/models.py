"""Payment rows: the `payments` app (tables keep their old orders_* names, see db_table).

Money is Decimal with two places (the currency's major unit); it goes to Stripe as integer cents.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Provider(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    SIMULATED = "simulated", "Simulated"


class PaymentStatus(models.TextChoices):
    REQUIRES_PAYMENT = "REQUIRES_PAYMENT", "Requires payment"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"
    REFUNDED = "REFUNDED", "Refunded"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED", "Partially refunded"


# The buyer's money is (at least partly) with the platform: the order counts as paid.
PAID_STATUSES = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED})
# Money was received at some point (refundable while something is left).
FUNDED_STATUSES = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)


class Payment(models.Model):
    """The buyer's payment for one order (the documented payment record)."""

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="payment")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.REQUIRES_PAYMENT
    )
    currency = models.CharField(max_length=3)
    total_amount = models.DecimalField(max_digits=10, decimal_places=2)
    # Stored once when the payment succeeds, never recomputed.
    platform_fee = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # Refunds recorded so far (each is retried until the gateway confirms it).
    refunded_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # Given to the buyer's client (Stripe.js) to confirm the intent; not an API key.
    client_secret = models.CharField(max_length=255, blank=True, default="")
    # The charge id: the documented stripe_tx_id, the transfer's source_transaction.
    stripe_tx_id = models.CharField(max_length=255, blank=True, default="")
    payment_date = models.DateTimeField(null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_payment"  # created under the orders app; kept so rows stay put
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total_amount__gt=0), name="payment_total_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("total_amount")),
                name="payment_refunds_within_total",
            ),
            models.CheckConstraint(
                condition=Q(platform_fee__isnull=True)
                | (Q(platform_fee__gte=0) & Q(platform_fee__lte=F("total_amount"))),
                name="payment_fee_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment for order #{self.order_id} ({self.status})"

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES


class RefundStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"  # recorded; the gateway call runs after commit
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"  # the last attempt failed; `payments_retry` tries again


class Refund(models.Model):
    """One refund, once: the caller's idempotency key is unique per payment."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    idempotency_key = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    reason = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    stripe_refund_id = models.CharField(max_length=255, blank=True, default="")
    # The creator's matching part, taken back from a payout already sent (Transfer reversal).
    reversal_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    stripe_reversal_id = models.CharField(max_length=255, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    # After a failed attempt: when the worker tries again (exponential backoff), and, once
    # PAYMENTS_RETRY_MAX_ATTEMPTS have failed, marked for an admin (last_error says why).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    needs_admin = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "orders_refund"  # created under the orders app; kept so rows stay put
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "idempotency_key"], name="refund_idempotency_key_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(reversal_amount__gte=0) & Q(reversal_amount__lte=F("amount")),
                name="refund_reversal_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} of order #{self.payment.order_id} ({self.status})"

    @property
    def reversal_pending(self) -> bool:
        return self.reversal_amount > 0 and not self.stripe_reversal_id


class PayoutStatus(models.TextChoices):
    WAITING_FOR_ACCOUNT = "WAITING_FOR_ACCOUNT", "Waiting for the creator's account"
    PENDING = "PENDING", "Pending"  # the transfer runs after commit
    PAID = "PAID", "Paid"
    FAILED = "FAILED", "Failed"  # the last attempt failed; `payments_retry` tries again
    NOT_NEEDED = "NOT_NEEDED", "Nothing to pay"  # everything was refunded before the transfer


class Payout(models.Model):
    """The creator's share of a completed order: total_amount - platform_fee.

    `amount` is fixed when the payout is recorded. `transfer_amount` is what actually went out:
    `amount` less the creator's part of refunds made before the transfer; it is fixed at the
    first attempt, so every retry sends the same request under the same idempotency key.
    """

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="payout")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts"
    )
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(max_length=20, choices=PayoutStatus.choices)
    destination = models.CharField(max_length=255, blank=True, default="")
    transfer_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    reversed_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    stripe_transfer_id = models.CharField(max_length=255, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    # After a failed attempt: when the worker tries again (exponential backoff), and, once
    # PAYMENTS_RETRY_MAX_ATTEMPTS have failed, marked for an admin (last_error says why).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    needs_admin = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "orders_payout"  # created under the orders app; kept so rows stay put
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payout_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(transfer_amount__isnull=True)
                | (Q(transfer_amount__gte=0) & Q(transfer_amount__lte=F("amount"))),
                name="payout_transfer_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(reversed_amount__gte=0), name="payout_reversed_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Payout {self.amount} for payment #{self.payment_id} ({self.status})"


class CreatorAccount(models.Model):
    """A creator's Stripe Express connected account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="creator_account"
    )
    stripe_account_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    payouts_enabled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_creatoraccount"  # created under the orders app; kept so rows stay put

    def __str__(self) -> str:
        return f"{self.stripe_account_id or '(not created)'} for user {self.user_id}"


class StripeEvent(models.Model):
    """A webhook event processed once: inserted in the same transaction as its effects."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    handled = models.BooleanField(default=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders_stripeevent"  # created under the orders app; kept so rows stay put
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type})"
