"""The one message builder (MessagePayload / message_payload) renders exactly what DRF's field
machinery would render from the serializer's declared fields: the schema (OpenAPI, AsyncAPI)
comes from those fields, the payload from the builder, for REST, live and replay alike."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from rest_framework import serializers

from echo_site.realtime import api_datetime
from orders import services
from orders.serializers import MessageSerializer, message_payload
from orders.serializers import message_payload as message_data


def drf_rendering(serializer_class, instance):
    """What the ModelSerializer's declared fields render, without the builder."""
    serializer = serializer_class(instance)
    return dict(serializers.ModelSerializer.to_representation(serializer, instance))


@pytest.mark.django_db
@pytest.mark.parametrize("client_id", [None, "c-1"])
def test_the_live_message_payload_is_the_rest_payload(order, buyer, client_id):
    message, _ = services.message_post(
        order=order, sender=buyer, content="Hello ünïcode", client_id=client_id
    )
    message.refresh_from_db()
    rendered = drf_rendering(MessageSerializer, message)
    assert message_payload(message) == rendered
    assert list(message_payload(message)) == list(rendered)
    assert dict(MessageSerializer(message).data) == rendered  # REST goes through the builder


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2026, 11, 27, 10, 49, 14, 123456, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 27, 10, 49, 14, tzinfo=datetime.UTC),  # no fraction
        datetime.datetime(2026, 1, 1, 1, 30, 5, 7, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
        datetime.datetime(2026, 7, 1, 23, 0, tzinfo=zoneinfo.ZoneInfo("America/Los_Angeles")),
    ],
)
def test_api_datetime_renders_as_drf_does(value):
    assert api_datetime(value) == serializers.DateTimeField().to_representation(value)
    assert api_datetime(value).endswith("Z")


@pytest.mark.django_db
def test_message_post_returns_the_stored_row(order, buyer, django_assert_num_queries):
    message, created = services.message_post(order=order, sender=buyer, content="as stored")
    assert created
    with django_assert_num_queries(0):  # its order and sender come with it
        returned = message_data(message)
        assert (message.order, message.sender) == (order, buyer)
    from orders.models import Message

    stored = Message.objects.get(pk=message.pk)
    assert returned == message_data(stored)
    assert not message._state.adding


@pytest.mark.django_db
@pytest.mark.parametrize("client_id", [None, "d-1"])
def test_the_live_dispute_message_payload_is_the_rest_payload(
    make_order, buyer, admin_user, client_id
):
    from disputes import services as dispute_services
    from disputes.serializers import DisputeMessageSerializer
    from disputes.serializers import dispute_message_payload as dispute_message_data

    order = make_order("IN_PROGRESS")
    dispute = dispute_services.dispute_open(
        order=order, opened_by=buyer, reason="The delivery never arrived."
    )
    for sender in (buyer, admin_user):
        message, _ = dispute_services.dispute_message_post(
            dispute=dispute, sender=sender, content="Hello ünïcode", client_id=client_id
        )
        message.refresh_from_db()
        rendered = drf_rendering(DisputeMessageSerializer, message)
        assert dict(DisputeMessageSerializer(message).data) == rendered
        assert dispute_message_data(message) == rendered
        assert list(dispute_message_data(message)) == list(rendered)


def test_the_replay_sql_is_checked_against_the_payload_before_it_is_built():
    from django.core.exceptions import ImproperlyConfigured

    from orders import rooms

    assert (
        len(rooms._message_columns(rooms._MESSAGE_COLUMNS)) == 9
    )  # ... and the files (attachments)
    missing = {k: v for k, v in rooms._MESSAGE_COLUMNS.items() if k != "client_id"}
    with pytest.raises(ImproperlyConfigured, match="client_id"):
        rooms._message_columns(missing)
    reordered = dict(reversed(list(rooms._MESSAGE_COLUMNS.items())))
    with pytest.raises(ImproperlyConfigured):
        rooms._message_columns(reordered)


@pytest.mark.django_db
@pytest.mark.parametrize("viewer", ["buyer", "creator"])
def test_the_order_payload_is_what_the_declared_fields_render(make_order, buyer, viewer, request):
    from types import SimpleNamespace

    from orders.serializers import OrderSerializer

    order = make_order("IN_PROGRESS")
    user = request.getfixturevalue(viewer)
    context = {"request": SimpleNamespace(user=user)}
    rendered = dict(
        serializers.ModelSerializer.to_representation(
            OrderSerializer(order, context=context), order
        )
    )
    payload = OrderSerializer(order, context=context).data
    assert dict(payload) == rendered
    assert list(payload) == list(rendered)
    if viewer == "creator":  # the viewer's moves (the creator can deliver), not an empty default
        assert rendered["allowed_moves"]
