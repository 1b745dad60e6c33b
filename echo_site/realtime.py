"""The one place that broadcasts to live clients.

Services call `broadcast_on_commit`; the event goes out through the channel layer only after the
surrounding transaction commits, so no client hears of a row that later rolled back. Consumers
call `broadcast_now` for what is never stored (typing, presence).

A broadcast that fails or hangs (Redis down or wedged) is logged with its order and swallowed
within BROADCAST_TIMEOUT_SECONDS: the write has already succeeded, and clients recover what they
missed from the database with `sync`. After a failure, broadcasts are skipped for a short while
so that every request does not wait out the timeout again: all of them, or, with ECHO's layer over
several Redis servers (CHANNEL_LAYER_REDIS_URLS), only those to the server that failed, which the
layer does itself (`unreachable_groups`); the other servers' groups are not held up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import functools
import logging
import os
import threading
import time
from collections.abc import Iterable
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# Group handlers on the consumers: the layer calls `live_event` for this type.
LIVE_EVENT = "live.event"

_skip_until = 0.0


def order_group(order_id: int) -> str:
    return f"order.{order_id}"


def dispute_group(dispute_id: int) -> str:
    return f"dispute.{dispute_id}"


def user_group(user_id: int) -> str:
    """A user's notification feed."""
    return f"user.{user_id}"


def sockets_group(user_id: int) -> str:
    """Every socket a user holds, for revoking them at once (logout, deactivation)."""
    return f"sockets.{user_id}"


def admin_disputes_group() -> str:
    return "admin.disputes"


def api_datetime(value: datetime.datetime) -> str:
    """An aware datetime as DRF's DateTimeField renders it with TIME_ZONE = "UTC" (ISO 8601, "Z"):
    the live payloads run this for every message, and DRF's field looks up the current time
    zone through thread-locals each time (tests/bench/test_message_payload.py keeps the two
    identical)."""
    text = value.astimezone(datetime.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def live_message(event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": LIVE_EVENT, "event": event, "data": data}


def broadcast_on_commit(*, groups: Iterable[str], event: str, data: dict[str, Any]) -> None:
    """Send `event` with `data` to `groups` once the current transaction commits.

    `data` must be plain JSON values (ids, strings, ISO times, decimal strings).
    """
    group_list = list(groups)
    message = live_message(event, data)
    transaction.on_commit(lambda: _send_sync(group_list, message))


async def broadcast_now(*, groups: Iterable[str], event: str, data: dict[str, Any]) -> None:
    """Send an event that is not stored (typing, presence) right away, from async code."""
    await _send_all(list(groups), live_message(event, data))


_in_flight: set[concurrent.futures.Future[None]] = set()


def _send_sync(groups: list[str], message: dict[str, Any]) -> None:
    """Send from sync code (a commit callback in a service).

    Inside the server, sync code runs in a worker thread of the event loop that serves the
    websockets (`sync_to_async` records that loop): the send is handed to that loop and the
    worker thread goes on without waiting for Redis. Sends handed over in commit order start
    in that order. Outside a server (a management command, a sync test) there is no such loop:
    wait for the send.
    """
    held = getattr(_thread, "held", None)
    if held is not None:  # the live layer's database hop sends these from the loop afterwards
        held.append((groups, message))
        return
    loop = _serving_loop()
    if loop is None:
        async_to_sync(_send_all)(groups, message)
        return
    future = asyncio.run_coroutine_threadsafe(_send_all(groups, message), loop)
    _in_flight.add(future)
    future.add_done_callback(_in_flight.discard)


_thread = threading.local()


Held = list[tuple[list[str], dict[str, Any]]]


def hold_broadcasts() -> None:
    """From now on, in this worker thread, keep commit-time broadcasts instead of handing each
    to the loop; `release_broadcasts` returns them (chat/db.py `in_db_thread`: the loop sends
    them as soon as the call returns, without one more wake-up across threads per message)."""
    _thread.held = []


def release_broadcasts() -> Held:
    held: Held = getattr(_thread, "held", None) or []
    _thread.held = None
    return held


_sending: set[asyncio.Task[None]] = set()


def send_released(held: Held) -> None:
    """On the loop: send what a worker thread held, in commit order.

    With ECHO's layer (echo_site/channel_layer.py) everything is queued for the next pipeline
    right here, without a task, a timeout and a future per broadcast; the layer's publisher
    applies the timeout to each pipeline and the outcome is logged when it is known.
    """
    if not held:
        return
    layer = get_channel_layer()
    if not hasattr(layer, "publish_nowait"):
        for groups, message in held:
            task = asyncio.get_running_loop().create_task(_send_all(groups, message))
            _sending.add(task)
            task.add_done_callback(_sending.discard)
        return
    if _skipping(held):
        return
    layer.publish_nowait(_copies(held)).add_done_callback(functools.partial(_report, held, layer))


def _copies(held: Held) -> list[tuple[str, dict[str, Any]]]:
    """One copy per group, naming its group: a process receives each copy once and hands it to
    its sockets in that group (chat/fanout.py)."""
    return [(group, {**message, "group": group}) for groups, message in held for group in groups]


def _skipping(held: Held) -> bool:
    if time.monotonic() >= _skip_until:
        return False
    for _, message in held:
        logger.warning(
            "broadcast skipped (channel layer recently failed): event=%s order=%s",
            message["event"],
            message["data"].get("order_id"),
        )
    return True


def _report(held: Held, layer: Any, done: asyncio.Future[Any]) -> None:
    error = None if done.cancelled() else done.exception()
    if error is not None:
        for groups, message in held:
            _failed(groups, message, error, layer)


def _serving_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop whose worker thread this is, if any (asgiref's sync_to_async
    records it: Django's ASGI handler runs views with it)."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None or getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    try:
        asyncio.get_running_loop()
        return None  # called on the loop itself: there is no thread to free
    except RuntimeError:
        pass
    return loop if loop.is_running() and not loop.is_closed() else None


async def _send_all(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None or not groups:
        return
    if _skipping([(groups, message)]):
        return
    try:
        sends = _copies([(groups, message)])
        async with asyncio.timeout(settings.BROADCAST_TIMEOUT_SECONDS):
            if hasattr(layer, "publish_nowait"):  # echo_site/channel_layer.py: one batch
                await layer.publish_nowait(sends)
            else:
                results = await asyncio.gather(
                    *(layer.group_send(group, copy) for group, copy in sends),
                    return_exceptions=True,
                )
                failure = next((r for r in results if isinstance(r, BaseException)), None)
                if failure is not None:
                    raise failure
    except Exception as exc:  # noqa: BLE001 - a broadcast must never fail the write behind it
        _failed(groups, message, exc, layer, alone=True)


def _failed(
    groups: list[str],
    message: dict[str, Any],
    error: BaseException,
    layer: Any,
    *,
    alone: bool = False,
) -> None:
    """Log a failed broadcast and back off. `alone`: it was sent by itself, so the failure is
    its own even if the layer cannot say which server failed (yet: a timeout here can come
    before the layer's own)."""
    global _skip_until
    unreachable_groups = getattr(layer, "unreachable_groups", None)
    if unreachable_groups is None:
        _skip_until = time.monotonic() + settings.BROADCAST_BACKOFF_SECONDS
    else:  # the layer backs off per Redis server: name the groups of the one that failed
        failed = unreachable_groups(groups)
        if not failed and not alone:
            return  # sent in a batch with others: its groups went out, another server failed
        groups = failed or groups
    logger.error(
        "broadcast failed: event=%s order=%s groups=%s error=%s",
        message["event"],
        message["data"].get("order_id"),
        ",".join(groups),
        type(error).__name__,
    )


def reset_backoff() -> None:
    global _skip_until
    _skip_until = 0.0
