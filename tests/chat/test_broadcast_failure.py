"""A broken channel layer never fails the write behind a broadcast; the failure is logged."""

from __future__ import annotations

import logging

import pytest

from echo_site import realtime
from orders import services
from orders.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


class BrokenLayer:
    async def group_send(self, group, message):
        raise ConnectionError("redis is down")


def test_message_is_stored_and_the_failure_logged_with_the_order_id(
    buyer, order, monkeypatch, caplog
):
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: BrokenLayer())
    realtime.reset_backoff()
    with caplog.at_level(logging.ERROR, logger="echo_site.realtime"):
        message, created = services.message_post(order=order, sender=buyer, content="hello?")
    assert created
    assert Message.objects.filter(pk=message.pk).exists()
    failures = [r.getMessage() for r in caplog.records if "broadcast failed" in r.getMessage()]
    assert failures
    assert f"order={order.pk}" in failures[0]
    assert "ConnectionError" in failures[0]
    realtime.reset_backoff()


def test_rest_post_answers_201_when_the_layer_is_down(api, buyer, order, monkeypatch):
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: BrokenLayer())
    realtime.reset_backoff()
    response = api(buyer).post(f"/api/orders/{order.pk}/messages", {"content": "still here"})
    assert response.status_code == 201
    assert response.json()["seq"] == 2
    realtime.reset_backoff()
