from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q


class ItemType(models.TextChoices):
    PRODUCT = "PRODUCT", "Product"
    SERVICE = "SERVICE", "Service"


class Item(models.Model):
    """A marketplace listing offered by a creator."""

    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="items"
    )
    title = models.CharField(max_length=150)
    description = models.TextField(blank=True, default="")
    base_price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    item_type = models.CharField(max_length=10, choices=ItemType.choices)
    # Deleting a listing archives it: orders placed against it keep their history.
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(base_price__gte=0), name="item_base_price_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["creator", "is_archived"])]

    def __str__(self) -> str:
        return f"{self.title} (#{self.pk})"


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    DELIVERED = "DELIVERED", "Delivered"
    COMPLETED = "COMPLETED", "Completed"
    CANCELLED = "CANCELLED", "Cancelled"


# Orders in these states take messages.
ACTIVE_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.IN_PROGRESS, OrderStatus.DELIVERED})
# Final: nobody moves an order out of these, admins and dispute outcomes included.
FINAL_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED})


# The agreed terms an order copies from its listing at placement: order field -> item field.
# Adding a term (revisions, delivery days, ...) is a column on both and one entry here; the
# migration that adds the column backfills it from the listing the same way.
ORDER_TERMS: dict[str, str] = {
    "item_title": "title",
    "item_description": "description",
    "item_type": "item_type",
    "listed_price": "base_price",
}


def terms_of(item: Item) -> dict[str, object]:
    """The listing's terms as an order stores them."""
    return {field: getattr(item, source) for field, source in ORDER_TERMS.items()}


class Order(models.Model):
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders_bought"
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders_received"
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="orders")
    # The listing's terms as they were when the order was placed (ORDER_TERMS below): editing or
    # archiving the listing later changes none of them.
    item_title = models.CharField(max_length=150)
    item_description = models.TextField(blank=True)
    item_type = models.CharField(max_length=10, choices=ItemType.choices)
    listed_price = models.DecimalField(max_digits=10, decimal_places=2)
    # The price agreed for this order (the listed price unless the parties agreed another).
    final_price = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(
        max_length=12, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    # The order's timeline counter: messages and recorded moves share it, 1, 2, 3, ... no gaps.
    last_seq = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The time-based rules (orders/timed.py) read and stamp these; each stamp is written once,
    # under the order's row lock, by the rule it belongs to.
    accepted_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)  # the latest delivery
    late_at = models.DateTimeField(null=True, blank=True)  # marked late (once)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)  # for the latest delivery

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(final_price__gt=0), name="order_price_positive"),
            models.CheckConstraint(
                condition=~Q(buyer=F("creator")), name="order_buyer_is_not_creator"
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "-created_at"]),
            models.Index(fields=["creator", "-created_at"]),
            # The sweeps: due work by status and time (orders/timed.py).
            models.Index(fields=["status", "created_at"], name="order_status_created"),
            models.Index(fields=["status", "due_at"], name="order_status_due"),
            models.Index(fields=["status", "delivered_at"], name="order_status_delivered"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.status})"

    def is_party(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in (self.buyer_id, self.creator_id)


class OrderEventKind(models.TextChoices):
    MOVE = "move", "Status move"
    LATE = "late", "Marked late"  # from_status == to_status: the order did not move
    REMINDER = "reminder", "Auto-complete reminder"  # likewise


# The system actor: what the time-based rules do is recorded with no actor user (actor NULL);
# REST and frames show it as actor_kind "system" with this actor_username.
SYSTEM_USERNAME = "system"


class OrderEvent(models.Model):
    """One recorded status move (placement included), or a notice of the time-based rules (late,
    reminder), with its place in the timeline."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=10, choices=OrderEventKind.choices, default="move")
    # NULL: the system (orders/timed.py), not a person.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="order_events",
        null=True,
        blank=True,
    )
    from_status = models.CharField(max_length=12, blank=True, default="")
    to_status = models.CharField(max_length=12, choices=OrderStatus.choices)
    note = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["order", "seq"], name="order_event_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} {self.from_status or '-'} -> {self.to_status}"


class Message(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="order_messages"
    )
    content = models.TextField()
    client_id = models.CharField(max_length=64, null=True, blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["order", "seq"], name="message_seq_unique"),
            # A retried send (same client_id from the same sender) stores nothing new.
            models.UniqueConstraint(
                fields=["order", "sender", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id}/{self.seq} by {self.sender_id}"


class ReadMark(models.Model):
    """How far a party has read an order's timeline."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="read_marks")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="read_marks"
    )
    last_read_seq = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "user"], name="read_mark_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} read by {self.user_id} to {self.last_read_seq}"


class Review(models.Model):
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="review")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_written"
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_received"
    )
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5), name="review_score_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"Review of order #{self.order_id}: {self.score}"
