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


class BrokenQueueingLayer:
    """A layer like ECHO's own (publish_nowait) whose pipeline fails."""

    def __init__(self) -> None:
        self.calls = 0

    def publish_nowait(self, sends):
        import asyncio

        self.calls += 1
        done = asyncio.get_running_loop().create_future()
        done.set_exception(TimeoutError())
        return done


@pytest.mark.asyncio
async def test_held_broadcasts_that_fail_are_logged_then_skipped_for_the_backoff(
    monkeypatch, caplog
):
    """The live layer's path (chat/db.py hands over what a call committed): a failed pipeline
    is logged per broadcast with its order, and broadcasts are skipped for the backoff."""
    import asyncio

    layer = BrokenQueueingLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: layer)
    realtime.reset_backoff()
    held = [
        (["order.5"], realtime.live_message("message.new", {"order_id": 5, "seq": 1})),
        (["order.6"], realtime.live_message("message.new", {"order_id": 6, "seq": 1})),
    ]
    with caplog.at_level(logging.WARNING, logger="echo_site.realtime"):
        realtime.send_released(held)
        await asyncio.sleep(0)  # the done callback runs
        realtime.send_released(held[:1])
    lines = [r.getMessage() for r in caplog.records]
    failed = [line for line in lines if "broadcast failed" in line]
    assert [("order=5" in f, "order=6" in f) for f in failed] == [(True, False), (False, True)]
    assert all("TimeoutError" in f for f in failed)
    assert any("broadcast skipped" in line and "order=5" in line for line in lines)
    assert layer.calls == 1  # the second hand-over was skipped, not sent
    realtime.reset_backoff()


class OneServerDownLayer(BrokenQueueingLayer):
    """A layer like ECHO's over two Redis servers, one of which is down: it backs off per
    server itself and says which groups are on the failed one (`unreachable_groups`)."""

    def unreachable_groups(self, groups):
        return [g for g in groups if g in {"order.5", "user.9"}]


@pytest.mark.asyncio
async def test_with_a_layer_that_backs_off_per_server_only_its_groups_are_reported_and_held(
    monkeypatch, caplog
):
    import asyncio

    layer = OneServerDownLayer()
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: layer)
    realtime.reset_backoff()
    held = [
        (["order.5", "user.8", "user.9"], realtime.live_message("message.new", {"order_id": 5})),
        (["order.6", "user.10"], realtime.live_message("message.new", {"order_id": 6})),
    ]
    with caplog.at_level(logging.WARNING, logger="echo_site.realtime"):
        realtime.send_released(held)
        await asyncio.sleep(0)  # the done callback runs
        realtime.send_released(held[1:])
    lines = [r.getMessage() for r in caplog.records]
    assert [line for line in lines if "broadcast failed" in line] == [
        "broadcast failed: event=message.new order=5 groups=order.5,user.9 error=TimeoutError"
    ]
    assert not any("broadcast skipped" in line for line in lines)
    assert layer.calls == 2  # the other server's groups were not held back
    realtime.reset_backoff()


class WedgedLayer:
    """Like ECHO's layer over a server that never answers: the broadcast's own timeout comes
    before the layer knows which server failed."""

    async def publish_nowait(self, sends):
        import asyncio

        await asyncio.sleep(10)

    def unreachable_groups(self, groups):
        return []


@pytest.mark.asyncio
async def test_a_broadcast_that_times_out_by_itself_is_logged_with_all_its_groups(
    monkeypatch, caplog, settings
):
    settings.BROADCAST_TIMEOUT_SECONDS = 0.1
    monkeypatch.setattr(realtime, "get_channel_layer", lambda: WedgedLayer())
    realtime.reset_backoff()
    with caplog.at_level(logging.ERROR, logger="echo_site.realtime"):
        await realtime.broadcast_now(groups=["order.7", "user.1"], event="typing", data={})
    assert [r.getMessage() for r in caplog.records] == [
        "broadcast failed: event=typing order=None groups=order.7,user.1 error=TimeoutError"
    ]
    realtime.reset_backoff()
