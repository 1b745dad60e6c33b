from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

MAX_DELIVERY_DAYS = 365
MAX_REVISIONS = 20


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
    # The listing's delivery terms: days from acceptance to delivery, and revision rounds
    # included (NULL: unlimited). Copied into each order (ORDER_TERMS).
    # db_default on columns added to live tables: a process of the release before still
    # inserts rows during a rolling deploy (tests/test_rolling_deploy.py).
    delivery_days = models.PositiveSmallIntegerField(
        default=7,
        db_default=7,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_DELIVERY_DAYS)],
    )
    revisions_included = models.PositiveSmallIntegerField(
        null=True, blank=True, default=None, validators=[MaxValueValidator(MAX_REVISIONS)]
    )
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
            models.CheckConstraint(
                condition=Q(delivery_days__gte=1) & Q(delivery_days__lte=MAX_DELIVERY_DAYS),
                name="item_delivery_days_1_to_365",
            ),
            models.CheckConstraint(
                condition=Q(revisions_included__isnull=True)
                | Q(revisions_included__lte=MAX_REVISIONS),
                name="item_revisions_included_0_to_20",
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
    "delivery_days": "delivery_days",
    "revisions_included": "revisions_included",
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
    delivery_days = models.PositiveSmallIntegerField(default=7, db_default=7)
    revisions_included = models.PositiveSmallIntegerField(null=True, blank=True, default=None)
    # Revision rounds the creator granted beyond the listing's, and the rounds the buyer used.
    revisions_granted = models.PositiveSmallIntegerField(default=0, db_default=0)
    revisions_used = models.PositiveSmallIntegerField(default=0, db_default=0)
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

    @property
    def revisions_allowed(self) -> int | None:
        """Revision rounds the buyer may ask for in all (None: unlimited)."""
        if self.revisions_included is None:
            return None
        return self.revisions_included + self.revisions_granted


class OrderEventKind(models.TextChoices):
    MOVE = "move", "Status move"
    LATE = "late", "Marked late"  # from_status == to_status: the order did not move
    REMINDER = "reminder", "Auto-complete reminder"  # likewise
    REVISIONS_GRANTED = "revisions_granted", "Revisions granted"  # the creator, no move


# The system actor: what the time-based rules do is recorded with no actor user (actor NULL);
# REST and frames show it as actor_kind "system" with this actor_username.
SYSTEM_USERNAME = "system"


class OrderEvent(models.Model):
    """One recorded status move (placement included), a notice of the time-based rules (late,
    reminder) or a grant of revision rounds, with its place in the timeline."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    # A move, or an entry that changes no status: a notice of the time-based rules (late,
    # reminder) or the creator granting revision rounds.
    kind = models.CharField(
        max_length=20,
        choices=OrderEventKind.choices,
        default=OrderEventKind.MOVE,
        db_default=OrderEventKind.MOVE,
    )
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


class DeliveryDecision(models.TextChoices):
    PENDING = "", "Awaiting the buyer"
    ACCEPTED = "accepted", "Accepted"
    REVISION_REQUESTED = "revision_requested", "Revision requested"


class Delivery(models.Model):
    """The creator's delivered work: a message and files, on the order's timeline."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="deliveries")
    seq = models.PositiveBigIntegerField()
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deliveries"
    )
    message = models.TextField()
    # 0 for the first delivery, n for the delivery answering the n-th revision request.
    revision = models.PositiveSmallIntegerField(default=0)
    decision = models.CharField(
        max_length=20, choices=DeliveryDecision.choices, blank=True, default=""
    )
    decision_note = models.CharField(max_length=1000, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seq"]
        constraints = [
            models.UniqueConstraint(fields=["order", "seq"], name="delivery_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"Delivery #{self.order_id}/{self.seq}"


class Attachment(models.Model):
    """An uploaded file, stored under an unguessable key; evidence, so never deleted by users.

    Uploaded on an order (its parties only), then claimed by one message, delivery or dispute
    message (`claimed_at`). Unclaimed uploads are purged after ATTACHMENT_ORPHAN_HOURS.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attachments")
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attachments"
    )
    key = models.CharField(max_length=255, unique=True)
    preview_key = models.CharField(max_length=255, blank=True, default="")
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments"
    )
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.PROTECT, related_name="attachments"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["claimed_at", "created_at"])]

    def __str__(self) -> str:
        return f"Attachment {self.pk} ({self.original_name})"
