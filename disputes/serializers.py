from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from echo_site.realtime import api_datetime
from orders.serializers import (
    MAX_ID,
    AttachmentPayload,
    AttachmentSerializer,
    MoneyInputField,
    StrictCharField,
    StrictIntegerField,
    attachment_payloads,
)

from .models import Dispute, DisputeMessage, DisputeOutcome
from .selectors import dispute_allowed_outcomes


class DisputeSerializer(serializers.ModelSerializer):
    order_id = serializers.IntegerField(read_only=True)
    created_by_user_id = serializers.IntegerField(source="opened_by_id", read_only=True)
    created_by_username = serializers.CharField(source="opened_by.username", read_only=True)
    closed_by_user_id = serializers.IntegerField(
        source="closed_by_id", read_only=True, allow_null=True
    )
    outcome = serializers.CharField(read_only=True, allow_null=True)
    refund_amount = serializers.DecimalField(
        max_digits=10, decimal_places=2, read_only=True, allow_null=True
    )
    allowed_outcomes = serializers.SerializerMethodField(
        help_text="The outcomes this dispute may close with now (none once closed): a "
        "cancelled order's dispute closes with REFUND_BUYER only."
    )

    class Meta:
        model = Dispute
        fields = [
            "id",
            "order_id",
            "created_by_user_id",
            "created_by_username",
            "reason",
            "status",
            "resolution",
            "outcome",
            "refund_amount",
            "created_at",
            "closed_at",
            "sla_flagged_at",
            "closed_by_user_id",
            "last_seq",
            "allowed_outcomes",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=DisputeOutcome.choices))
    )
    def get_allowed_outcomes(self, dispute: Dispute) -> list[str]:
        if not dispute.is_open:
            return []
        return dispute_allowed_outcomes(order_status=dispute.order.status)

    def to_representation(self, instance: Dispute) -> dict:
        data = super().to_representation(instance)
        data["outcome"] = instance.outcome or None
        return data


class DisputeMessagePayload(TypedDict):
    """A dispute message as every client sees it: REST, the live broadcast, ack and replay."""

    id: int
    dispute_id: int
    seq: int
    sender_id: int
    sender_username: str
    content: str
    sent_at: str
    from_admin: bool
    client_id: str | None
    attachments: list[AttachmentPayload]


def dispute_message_payload(message: DisputeMessage) -> DisputeMessagePayload:
    """The one builder of a dispute message's payload, built directly: it runs for every message
    sent and every one replayed, and DRF builds a ModelSerializer's fields anew on each instance
    (docs/benchmarks.md)."""
    return {
        "id": message.pk,
        "dispute_id": message.dispute_id,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "sender_username": message.sender.username,
        "content": message.content,
        "sent_at": api_datetime(message.sent_at),
        "from_admin": message.from_admin,
        "client_id": message.client_id,
        "attachments": attachment_payloads(message),
    }


class DisputeMessageSerializer(serializers.ModelSerializer):
    """The fields declare the schema; the payload is `dispute_message_payload`'s."""

    dispute_id = serializers.IntegerField(read_only=True)
    sender_id = serializers.IntegerField(read_only=True)
    sender_username = serializers.CharField(source="sender.username", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = DisputeMessage
        fields = [
            "id",
            "dispute_id",
            "seq",
            "sender_id",
            "sender_username",
            "content",
            "sent_at",
            "from_admin",
            "client_id",
            "attachments",
        ]
        read_only_fields = fields

    def to_representation(self, instance: DisputeMessage) -> dict[str, Any]:
        return dict(dispute_message_payload(instance))


class DisputeDetailSerializer(DisputeSerializer):
    messages = DisputeMessageSerializer(many=True, read_only=True)
    read_marks = serializers.SerializerMethodField(
        help_text="{user_id: the last message seq that user has read}"
    )

    class Meta(DisputeSerializer.Meta):
        fields = [*DisputeSerializer.Meta.fields, "messages", "read_marks"]
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_read_marks(self, dispute: Dispute) -> dict[str, int]:
        return {
            str(user_id): seq
            for user_id, seq in dispute.read_marks.values_list("user_id", "last_read_seq")
        }


class DisputeOpenInputSerializer(serializers.Serializer):
    order_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    reason = StrictCharField(min_length=10, max_length=500)

    def to_internal_value(self, data):  # ECHO's camelCase clients
        if hasattr(data, "keys") and "orderId" in data and "order_id" not in data:
            data = {**data, "order_id": data["orderId"]}
        return super().to_internal_value(data)


class DisputeMessageInputSerializer(serializers.Serializer):
    content = StrictCharField(
        required=False, trim_whitespace=False, allow_blank=True, max_length=20000
    )
    message = StrictCharField(
        required=False,
        trim_whitespace=False,
        allow_blank=True,
        max_length=20000,
        help_text="ECHO's name for content.",
    )
    client_id = StrictCharField(max_length=64, required=False, allow_null=True)
    attachment_ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=5,
        help_text="Files uploaded first (POST /api/orders/{order_id}/attachments), at most 5.",
    )

    def validate(self, attrs: dict) -> dict:
        if "content" not in attrs and "message" not in attrs:
            raise serializers.ValidationError({"content": ["This field is required."]})
        attrs["content"] = attrs.get("content", attrs.get("message"))
        return attrs


class DisputeCloseInputSerializer(serializers.Serializer):
    resolution = StrictCharField(min_length=1, max_length=5000)
    outcome = serializers.ChoiceField(choices=DisputeOutcome.choices)
    refund_amount = MoneyInputField(required=False, allow_null=True, min_value=Decimal("0.01"))


class DisputeListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["OPEN", "UNDER_REVIEW", "CLOSED"], required=False, allow_blank=True
    )
