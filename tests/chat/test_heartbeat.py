"""The process-wide heartbeat (chat/heartbeat.py): every socket's credential in one query, and
one sweep per room however many of its sockets this process holds."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat import presence
from chat.auth import Credential, credentials_still_valid

from .conftest import connect, drain, receive_presence_of


@pytest.mark.django_db
def test_credentials_are_checked_together_in_one_user_query(buyer, creator, outsider, password):
    client = Client()
    assert client.login(username=buyer.username, password=password)
    live_session = client.session.session_key
    get_user_model().objects.filter(pk=outsider.pk).update(is_active=False)
    later = timezone.now() + timedelta(minutes=5)
    credentials = [
        Credential(method="jwt", user_id=buyer.pk, expires_at=later),
        Credential(method="jwt", user_id=creator.pk, expires_at=timezone.now()),  # expired
        Credential(method="jwt", user_id=outsider.pk, expires_at=later),  # deactivated
        Credential(method="session", user_id=buyer.pk, session_key=live_session),
        Credential(method="session", user_id=buyer.pk, session_key="no-such-session"),
        None,
    ]
    with CaptureQueriesContext(connection) as queries:
        results = credentials_still_valid(credentials)
    assert results == [True, False, False, True, False, False]
    user_queries = [q for q in queries if "auth_user" in q["sql"]]
    assert len(user_queries) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_stale_entry_is_announced_once_however_many_sockets_share_the_room(
    buyer, creator, order, settings
):
    settings.LIVE_HEARTBEAT_SECONDS = 0.3
    room = f"order.{order.pk}"
    await presence.store().put(room, f"{creator.pk}|creator|dead-channel", time.time() + 0.5)
    sockets = [(await connect(f"/ws/orders/{order.pk}/", user=buyer))[0] for _ in range(3)]
    for socket in sockets:
        await receive_presence_of(socket, creator.pk, online=False, timeout=5)
    for socket in sockets:
        later = [
            f for f in await drain(socket) if f["type"] == "presence" and f["user_id"] == creator.pk
        ]
        assert later == []
        await socket.disconnect()


@pytest.mark.asyncio
async def test_sockets_are_beaten_in_slices_each_once_per_interval(settings):
    import asyncio

    from chat import heartbeat as heartbeat_module

    class Socket:
        def __init__(self, n: int) -> None:
            self.n = n
            self.closed = False

    settings.LIVE_HEARTBEAT_SECONDS = 0.5
    beats: list[list[int]] = []

    class Recording(heartbeat_module.Heartbeat):
        async def beat(self, members):  # type: ignore[override]
            beats.append([m.n for m in members])

    beat = Recording()
    members = [Socket(n) for n in range(25)]
    for member in members:
        beat.join(member)  # type: ignore[arg-type]
    await asyncio.sleep(0.5 * 1.05)  # one interval
    for member in members:
        beat.leave(member)  # type: ignore[arg-type]
    beaten = sorted(n for batch in beats for n in batch)
    assert beaten == list(range(25))  # every socket once
    assert max(len(batch) for batch in beats) <= -(-25 // heartbeat_module.SLICES)


@pytest.mark.asyncio
async def test_many_sockets_are_beaten_in_more_slices_of_bounded_size(settings, monkeypatch):
    import asyncio

    from chat import heartbeat as heartbeat_module

    class Socket:
        def __init__(self, n: int) -> None:
            self.n = n
            self.closed = False

    monkeypatch.setattr(heartbeat_module, "MAX_SOCKETS_PER_BEAT", 2)
    settings.LIVE_HEARTBEAT_SECONDS = 0.5
    beats: list[list[int]] = []

    class Recording(heartbeat_module.Heartbeat):
        async def beat(self, members):  # type: ignore[override]
            beats.append([m.n for m in members])

    beat = Recording()
    members = [Socket(n) for n in range(25)]
    for member in members:
        beat.join(member)  # type: ignore[arg-type]
    members[3].closed = True  # closed, not yet left: skipped
    beat.leave(members[4])  # type: ignore[arg-type]
    await asyncio.sleep(0.5 * 1.05)  # one interval
    for member in members:
        beat.leave(member)  # type: ignore[arg-type]
    beaten = sorted(n for batch in beats for n in batch)
    assert beaten == [n for n in range(25) if n not in (3, 4)]  # every live socket once
    assert max(len(batch) for batch in beats) <= 2
    assert len(beats) == 12  # ceil(24 / 2): the socket that left is not in the interval
