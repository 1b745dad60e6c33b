"""Payments in the Django admin, read-only: every change goes through the services."""

from __future__ import annotations

from django.contrib import admin

from orders.admin import ReadOnlyAdminMixin

from .models import CreatorAccount, Payment, Payout, Refund, StripeEvent


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    extra = 0
    readonly_fields = (
        "amount",
        "reason",
        "status",
        "stripe_refund_id",
        "reversal_amount",
        "created_at",
    )
    fields = readonly_fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "order",
        "status",
        "total_amount",
        "platform_fee",
        "refunded_amount",
        "currency",
        "provider",
        "payment_date",
    ]
    list_filter = ["status", "provider"]
    search_fields = ["order__id", "payment_intent_id", "stripe_tx_id"]
    # client_secret stays out of the admin.
    readonly_fields = (
        "order",
        "provider",
        "status",
        "currency",
        "total_amount",
        "platform_fee",
        "refunded_amount",
        "payment_intent_id",
        "stripe_tx_id",
        "payment_date",
        "failure_message",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields
    inlines = [RefundInline]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "payment",
        "amount",
        "status",
        "reversal_amount",
        "attempts",
        "needs_admin",
        "next_attempt_at",
        "last_error",
        "created_at",
    ]
    # needs_admin: the worker gave up after PAYMENTS_RETRY_MAX_ATTEMPTS; last_error says why.
    list_filter = ["needs_admin", "status"]
    search_fields = ["payment__order__id", "stripe_refund_id", "idempotency_key"]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "payment",
        "creator",
        "amount",
        "transfer_amount",
        "reversed_amount",
        "status",
        "attempts",
        "needs_admin",
        "next_attempt_at",
        "last_error",
        "paid_at",
    ]
    list_filter = ["needs_admin", "status"]
    search_fields = ["payment__order__id", "creator__username", "stripe_transfer_id"]


@admin.register(CreatorAccount)
class CreatorAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "user", "stripe_account_id", "payouts_enabled", "updated_at"]
    list_filter = ["payouts_enabled"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["event_id", "type", "handled", "received_at"]
    list_filter = ["type", "handled"]
