"""Django admin: a read-only window on orders; every change goes through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from echo_site.errors import ServiceError

from . import services
from .models import Item, Message, Order, OrderEvent, OrderStatus, Review


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Item)
class ItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "title", "creator", "item_type", "base_price", "is_archived"]
    list_filter = ["item_type", "is_archived"]
    search_fields = ["title", "creator__username"]
    actions = ["archive"]

    @admin.action(description="Archive (delete) the selected listings")
    def archive(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        for item in queryset:
            services.item_archive(item=item, actor=request.user)
        self.message_user(request, f"Archived {queryset.count()} listing(s).")


class OrderEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderEvent
    extra = 0
    readonly_fields = (
        "seq",
        "actor",
        "from_status",
        "to_status",
        "note",
        "created_at",
    )
    fields = readonly_fields


class MessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Message
    extra = 0
    readonly_fields = (
        "seq",
        "sender",
        "content",
        "client_id",
        "sent_at",
    )
    fields = readonly_fields


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "item_title", "buyer", "creator", "final_price", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["id", "buyer__username", "creator__username", "item_title"]
    inlines = [OrderEventInline, MessageInline]
    actions = ["cancel"]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_staff)

    @admin.action(description="Cancel the selected orders (as admin)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            try:
                services.order_move(
                    order=order,
                    actor=request.user,
                    to_status=OrderStatus.CANCELLED,
                    note="Cancelled from the admin.",
                )
            except ServiceError as exc:
                self.message_user(request, f"Order #{order.pk}: {exc.message}", messages.WARNING)


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "order", "author", "creator", "score", "created_at"]
    list_filter = ["score"]
