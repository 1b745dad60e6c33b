"""The hand-built live payload of a message is exactly what the REST serializer renders."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from rest_framework import serializers

from echo_site.realtime import api_datetime
from orders import services
from orders.live import message_data
from orders.serializers import MessageSerializer


@pytest.mark.django_db
@pytest.mark.parametrize("client_id", [None, "c-1"])
def test_the_live_message_payload_is_the_rest_payload(order, buyer, client_id):
    message, _ = services.message_post(
        order=order, sender=buyer, content="Hello ünïcode", client_id=client_id
    )
    message.refresh_from_db()
    assert message_data(message) == dict(MessageSerializer(message).data)
    assert list(message_data(message)) == list(MessageSerializer(message).data)


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
    from disputes.live import message_data as dispute_message_data
    from disputes.serializers import DisputeMessageSerializer

    order = make_order("IN_PROGRESS")
    dispute = dispute_services.dispute_open(
        order=order, opened_by=buyer, reason="The delivery never arrived."
    )
    for sender in (buyer, admin_user):
        message, _ = dispute_services.dispute_message_post(
            dispute=dispute, sender=sender, content="Hello ünïcode", client_id=client_id
        )
        message.refresh_from_db()
        rendered = dict(DisputeMessageSerializer(message).data)
        assert dispute_message_data(message) == rendered
        assert list(dispute_message_data(message)) == list(rendered)
