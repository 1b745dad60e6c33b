from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class DisputeStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    UNDER_REVIEW = "UNDER_REVIEW", "Under review"
    CLOSED = "CLOSED", "Closed"


class DisputeOutcome(models.TextChoices):
    REFUND_BUYER = "REFUND_BUYER", "Refund the buyer in full"
    PARTIAL_REFUND = "PARTIAL_REFUND", "Refund part, pay the creator the rest"
    RELEASE_TO_CREATOR = "RELEASE_TO_CREATOR", "Release the money to the creator"
    RESUME = "RESUME", "Resume the order"


OPEN_STATUSES = (DisputeStatus.OPEN, DisputeStatus.UNDER_REVIEW)


class Dispute(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes_opened"
    )
    reason = models.CharField(max_length=500)
    status = models.CharField(
        max_length=12, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    resolution = models.TextField(blank=True, default="")
    outcome = models.CharField(
        max_length=20, choices=DisputeOutcome.choices, blank=True, default=""
    )
    refund_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # The dispute thread's counter: messages are numbered 1, 2, 3, ... with no gaps.
    last_seq = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Flagged on the mediation desk: open with no admin for DISPUTE_ADMIN_SLA_HOURS (once).
    sla_flagged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="disputes_closed",
        null=True,
        blank=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open (or under review) dispute per order, decided by the database.
            models.UniqueConstraint(
                fields=["order"],
                condition=~Q(status="CLOSED"),
                name="dispute_one_open_per_order",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return f"Dispute #{self.pk} on order #{self.order_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class DisputeMessage(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dispute_messages"
    )
    content = models.TextField()
    from_admin = models.BooleanField(default=False)
    client_id = models.CharField(max_length=64, null=True, blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)
    # Evidence: files uploaded on the dispute's order (orders.Attachment), each sent once. The
    # link lives here so that orders never imports disputes.
    attachments = models.ManyToManyField(
        "orders.Attachment", blank=True, related_name="dispute_messages"
    )

    class Meta:
        ordering = ["dispute_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["dispute", "seq"], name="dispute_message_seq_unique"),
            models.UniqueConstraint(
                fields=["dispute", "sender", "client_id"],
                condition=Q(client_id__isnull=False),
                name="dispute_message_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute #{self.dispute_id}/{self.seq} by {self.sender_id}"


class DisputeReadMark(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="read_marks")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dispute_read_marks"
    )
    last_read_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dispute", "user"], name="dispute_read_mark_unique"),
        ]

    def __str__(self) -> str:
        return f"Dispute #{self.dispute_id} read by {self.user_id} to {self.last_read_seq}"
