"""A socket never outlives its credential."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from .conftest import bearer, connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def wait_for_close(comm, timeout: float) -> dict:
    while True:
        frame = await comm.receive_output(timeout=timeout)
        if frame["type"] == "websocket.close":
            return frame


async def test_socket_closes_4401_when_the_jwt_expires(buyer, order):
    # JWT expiry has whole-second resolution: 3 s leaves room to connect first.
    token = bearer(buyer, lifetime=timedelta(seconds=3))
    comm, _ = await connect(f"/ws/orders/{order.pk}/", token=token)
    frame = await wait_for_close(comm, timeout=8)
    assert frame["code"] == 4401


async def test_socket_closes_4401_when_the_user_is_deactivated(buyer, order, settings):
    settings.LIVE_HEARTBEAT_SECONDS = 0.3
    comm, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await database_sync_to_async(get_user_model().objects.filter(pk=buyer.pk).update)(
        is_active=False
    )
    frame = await wait_for_close(comm, timeout=5)
    assert frame["code"] == 4401


async def test_logout_closes_every_socket_of_the_user_at_once(buyer, order, api):
    room, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    feed, _ = await connect("/ws/notifications/", user=buyer)
    response = await database_sync_to_async(api(buyer).post)("/api/auth/logout", {}, format="json")
    assert response.status_code == 204
    assert (await wait_for_close(room, timeout=5))["code"] == 4401
    assert (await wait_for_close(feed, timeout=5))["code"] == 4401


async def test_session_socket_closes_4401_after_the_session_ends(buyer, order, password, settings):
    from django.contrib.sessions.models import Session
    from django.test import Client

    from .conftest import ORIGIN

    settings.LIVE_HEARTBEAT_SECONDS = 0.3

    def login() -> str:
        client = Client()
        assert client.login(username=buyer.username, password=password)
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    session_key = await database_sync_to_async(login)()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
    comm, _ = await connect(f"/ws/orders/{order.pk}/", origin=ORIGIN, cookie=cookie)
    # What logging out elsewhere (another tab, the admin) does: the session is gone.
    await database_sync_to_async(Session.objects.filter(session_key=session_key).delete)()
    frame = await wait_for_close(comm, timeout=5)
    assert frame["code"] == 4401
