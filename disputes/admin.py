"""Django admin for disputes: filter by status, read the thread, close through the service."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from echo_site.errors import ServiceError

from . import services
from .models import Dispute, DisputeMessage, DisputeOutcome


class DisputeMessageInline(admin.TabularInline):
    model = DisputeMessage
    extra = 0
    readonly_fields = (
        "seq",
        "sender",
        "from_admin",
        "content",
        "sent_at",
    )
    fields = readonly_fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _close_action(outcome: DisputeOutcome) -> Any:
    def close(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        for dispute in queryset.select_related("order"):
            try:
                services.dispute_close(
                    dispute=dispute,
                    actor=request.user,
                    resolution=f"Closed from the admin by {request.user.get_username()}: "
                    f"{outcome.label.lower()}.",
                    outcome=outcome,
                )
            except ServiceError as exc:
                modeladmin.message_user(
                    request, f"Dispute #{dispute.pk}: {exc.message}", messages.WARNING
                )
            else:
                modeladmin.message_user(request, f"Dispute #{dispute.pk} closed.")

    close.__name__ = f"close_{outcome.value.lower()}"
    return admin.action(description=f"Close: {outcome.label.lower()}")(close)


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "opened_by", "status", "outcome", "created_at", "closed_at"]
    list_filter = ["status", "outcome"]
    search_fields = ["id", "order__id", "opened_by__username", "reason"]
    inlines = [DisputeMessageInline]
    readonly_fields = [f.name for f in Dispute._meta.fields]
    # Partial refunds need an amount: use the mediation desk or the API for those.
    actions = [
        _close_action(DisputeOutcome.RESUME),
        _close_action(DisputeOutcome.REFUND_BUYER),
        _close_action(DisputeOutcome.RELEASE_TO_CREATOR),
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
