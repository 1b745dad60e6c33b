"""The process-wide heartbeat (chat/heartbeat.py): every socket's credential in one query, and
one sweep per room however many of its sockets this process holds."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat import heartbeat as heartbeat_module
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


class FakeSocket:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False


async def one_interval_of_beats(
    sockets: list[FakeSocket], *, before: Any = None
) -> list[list[int]]:
    """Join `sockets` to a heartbeat whose interval is 0.5 s (`before` runs right after), let one
    interval pass, and return which sockets each beat had."""
    beats: list[list[int]] = []

    class Recording(heartbeat_module.Heartbeat):
        async def beat(self, members):  # type: ignore[override]
            beats.append([m.n for m in members])

    beat = Recording()
    for socket in sockets:
        beat.join(socket)  # type: ignore[arg-type]
    if before is not None:
        before(beat)
    await asyncio.sleep(0.5 * 1.05)  # one interval
    for socket in sockets:
        beat.leave(socket)  # type: ignore[arg-type]
    return beats


@pytest.mark.asyncio
async def test_sockets_are_beaten_in_slices_each_once_per_interval(settings):
    from chat import heartbeat as heartbeat_module

    settings.LIVE_HEARTBEAT_SECONDS = 0.5
    beats = await one_interval_of_beats([FakeSocket(n) for n in range(25)])
    beaten = sorted(n for batch in beats for n in batch)
    assert beaten == list(range(25))  # every socket once
    assert max(len(batch) for batch in beats) <= -(-25 // heartbeat_module.SLICES)


@pytest.mark.asyncio
async def test_many_sockets_are_beaten_in_more_slices_of_bounded_size(settings, monkeypatch):
    from chat import heartbeat as heartbeat_module

    monkeypatch.setattr(heartbeat_module, "MAX_SOCKETS_PER_BEAT", 2)
    settings.LIVE_HEARTBEAT_SECONDS = 0.5
    sockets = [FakeSocket(n) for n in range(25)]

    def close_one_and_leave_one(beat: Any) -> None:
        sockets[3].closed = True  # closed, not yet left: skipped
        beat.leave(sockets[4])  # left before the interval began: not in it

    beats = await one_interval_of_beats(sockets, before=close_one_and_leave_one)
    beaten = sorted(n for batch in beats for n in batch)
    assert beaten == [n for n in range(25) if n not in (3, 4)]  # every live socket once
    assert max(len(batch) for batch in beats) <= 2
    assert len(beats) == 12  # ceil(24 / 2)


@pytest.mark.asyncio
async def test_a_socket_that_goes_mid_interval_is_not_kept_until_the_interval_ends(settings):
    """Under churn a whole round's sockets went while an interval that had them was running."""
    settings.LIVE_HEARTBEAT_SECONDS = 0.5
    beat = heartbeat_module.Heartbeat()
    beat.beat = _no_beat  # type: ignore[method-assign]
    sockets = [FakeSocket(n) for n in range(4)]
    for socket in sockets:
        beat.join(socket)  # type: ignore[arg-type]
    await asyncio.sleep(0.1)  # the interval has begun, with all four
    gone = weakref.ref(sockets[2])
    sockets[2].closed = True
    beat.leave(sockets[2])  # type: ignore[arg-type]
    gc.disable()  # freed by its reference count, or not at all
    try:
        del sockets[2]
        assert gone() is None
    finally:
        gc.enable()
        for socket in sockets:
            beat.leave(socket)  # type: ignore[arg-type]
        await asyncio.sleep(0.6)  # the interval ends, the task with it


async def _no_beat(members: list[Any]) -> None:
    pass
