from __future__ import annotations

from rest_framework import serializers

from orders.serializers import MAX_ID, StrictIntegerField


class PreferenceSerializer(serializers.Serializer):
    email_enabled = serializers.BooleanField()
    push_enabled = serializers.BooleanField()
    digest_delay_minutes = serializers.IntegerField()
    desk_email = serializers.BooleanField()
    muted_order_ids = serializers.ListField(child=serializers.IntegerField())
    push_available = serializers.BooleanField()


class PreferenceInputSerializer(serializers.Serializer):
    email_enabled = serializers.BooleanField(required=False)
    push_enabled = serializers.BooleanField(required=False)
    digest_delay_minutes = StrictIntegerField(required=False, min_value=0, max_value=10080)
    desk_email = serializers.BooleanField(required=False)
    muted_order_ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID), required=False, max_length=1000
    )


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)


class PushSubscriptionInputSerializer(serializers.Serializer):
    """The browser's PushSubscription.toJSON()."""

    endpoint = serializers.URLField(max_length=1000)
    keys = PushKeysSerializer()


class PushUnsubscribeInputSerializer(serializers.Serializer):
    endpoint = serializers.URLField(max_length=1000)


class PushKeySerializer(serializers.Serializer):
    public_key = serializers.CharField(allow_blank=True)
