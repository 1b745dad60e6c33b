"""What notify keeps: preferences, per-order mutes, browser push subscriptions and the outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models


def _default_delay() -> int:
    return int(settings.NOTIFY_AFTER_MINUTES)


class NotificationPreference(models.Model):
    """A user's choices; a user without a row has the defaults (email on, push off)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_enabled = models.BooleanField(default=True)
    push_enabled = models.BooleanField(default=False)
    # Unread messages wait this long without a socket on their order before a digest goes out.
    digest_delay_minutes = models.PositiveIntegerField(default=_default_delay)
    # Admins only: dispute events of every order, for the mediation desk, by email.
    desk_email = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Notification preferences of {self.user_id}"


class OrderMute(models.Model):
    """Nothing is recorded or sent to `user` about `order`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="order_mutes"
    )
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="mutes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "order"], name="order_mute_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id} muted by {self.user_id}"


class PushSubscription(models.Model):
    """One browser's Push API subscription (PushSubscription.toJSON())."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Push subscription {self.pk} of {self.user_id}"


class NotificationKind(models.TextChoices):
    ORDER_PLACED = "order_placed", "New order"
    PAYMENT_RECEIVED = "payment_received", "Payment received"
    ORDER_MOVED = "order_moved", "Order status changed"
    MESSAGE = "message", "New message"
    ORDER_LATE = "order_late", "Order late"
    AUTO_COMPLETE_SOON = "auto_complete_soon", "Completes by itself soon"
    DISPUTE_OPENED = "dispute_opened", "Dispute opened"
    DISPUTE_REVIEW = "dispute_admin_joined", "An admin joined the dispute"
    DISPUTE_CLOSED = "dispute_closed", "Dispute closed"
    DISPUTE_MESSAGE = "dispute_message", "New message in a dispute"


# Unread messages: they wait for the digest delay; the others are status events.
MESSAGE_KINDS = frozenset({NotificationKind.MESSAGE, NotificationKind.DISPUTE_MESSAGE})


class Notification(models.Model):
    """The outbox: one row per (user, event), sent by `notify_send_due`.

    The unique (user, key) makes recording idempotent; the sent_* columns are claimed with a
    conditional update, so each row goes out at most once per channel, with any number of
    senders. `done_at`: nothing more will be done with the row (sent, read, muted, or channel off).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    # A message in a dispute's thread: that dispute (its room, read marks and page); None for
    # everything on the order's own timeline.
    dispute = models.ForeignKey(
        "disputes.Dispute", on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    # The timeline's seq of the event (messages and moves: the order's; dispute messages: the
    # dispute thread's), to compare with read marks.
    seq = models.PositiveBigIntegerField(null=True, blank=True)
    # A short summary (plain JSON: status names, sender name, first lines of a message).
    payload = models.JSONField(default=dict)
    key = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    sent_email_at = models.DateTimeField(null=True, blank=True)
    sent_push_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notification_user_key_unique"),
        ]
        indexes = [
            models.Index(
                fields=["user", "created_at"],
                condition=models.Q(done_at__isnull=True),
                name="notification_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id} on #{self.order_id}"
