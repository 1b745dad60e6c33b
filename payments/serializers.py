"""Output shapes of the payments API (plain JSON: decimal strings, ISO times)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Payment, PaymentStatus, Payout, PayoutStatus, Provider, Refund


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True, **kwargs)


class RefundSerializer(serializers.ModelSerializer):
    amount = money()
    reversal_amount = money()

    class Meta:
        model = Refund
        fields = [
            "id",
            "amount",
            "reason",
            "status",
            "stripe_refund_id",
            "reversal_amount",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


class PayoutSerializer(serializers.ModelSerializer):
    amount = money(help_text="total_amount - platform_fee")
    transfer_amount = money(allow_null=True)
    reversed_amount = money()

    class Meta:
        model = Payout
        fields = [
            "id",
            "status",
            "amount",
            "transfer_amount",
            "reversed_amount",
            "stripe_transfer_id",
            "paid_at",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    order_id = serializers.IntegerField(read_only=True)
    total_amount = money()
    platform_fee = money(allow_null=True, help_text="Stored when the payment succeeds.")
    refunded_amount = money()
    status = serializers.ChoiceField(choices=PaymentStatus.choices, read_only=True)
    simulated = serializers.SerializerMethodField()
    payout_status = serializers.SerializerMethodField()
    payout = serializers.SerializerMethodField()
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "order_id",
            "status",
            "currency",
            "total_amount",
            "platform_fee",
            "refunded_amount",
            "stripe_tx_id",
            "payment_date",
            "failure_message",
            "simulated",
            "payout_status",
            "payout",
            "refunds",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_simulated(self, payment: Payment) -> bool:
        return payment.provider == Provider.SIMULATED

    def _payout(self, payment: Payment) -> Payout | None:
        try:
            return payment.payout
        except Payout.DoesNotExist:
            return None

    @extend_schema_field(serializers.ChoiceField(choices=PayoutStatus.choices, allow_null=True))
    def get_payout_status(self, payment: Payment) -> str | None:
        payout = self._payout(payment)
        return payout.status if payout else None

    @extend_schema_field(PayoutSerializer(allow_null=True))
    def get_payout(self, payment: Payment) -> dict[str, Any] | None:
        payout = self._payout(payment)
        return dict(PayoutSerializer(payout).data) if payout else None


class PaymentStartSerializer(PaymentSerializer):
    """The start answer: what Stripe.js (or a mobile SDK) needs to confirm the payment."""

    client_secret = serializers.CharField(read_only=True)
    publishable_key = serializers.SerializerMethodField()

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "client_secret", "publishable_key"]
        read_only_fields = fields

    def get_publishable_key(self, payment: Payment) -> str:
        return "" if payment.provider == Provider.SIMULATED else settings.STRIPE_PUBLISHABLE_KEY


class ConnectSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    payouts_enabled = serializers.BooleanField()
    onboarding_url = serializers.CharField()
    simulated = serializers.BooleanField()


class WebhookResultSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    result = serializers.ChoiceField(choices=["processed", "ignored", "duplicate"])
