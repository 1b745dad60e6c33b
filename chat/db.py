"""How the live layer runs sync database code from the event loop: `in_db_thread(fn)(*args)`.

Not channels' `database_sync_to_async`, for three reasons measured under load
(docs/benchmarks.md):
- it runs every call of the process on one "thread-sensitive" thread with one connection, so
  every socket queues behind every other one's round trips to PostgreSQL. Here the calls run on
  a pool of LIVE_DB_THREADS threads, each with its own connection (Django's connections are per
  thread). Nothing here depends on thread identity: each call is one transaction.
- asgiref's SyncToAsync machinery (context copies, thread-local bookkeeping, a wait for the
  future) costs more CPU than a one-statement message insert; this is a plain `run_in_executor`.
- `close_old_connections()` before and after each call would hand the connection back to the
  process's pool after every call and take one again (with the pool's health check, `SELECT`-like
  round trip) for the next: a second round trip per message. Here each thread keeps the pooled
  connection it took (LIVE_DB_THREADS of the pool's DB_POOL_MAX connections, so the process's
  total stays bounded) and checks it only if it sat idle for HEALTH_CHECK_IDLE_SECONDS (one that
  died while idle, a database restart, is handed back and replaced before it fails a call); a
  connection that fails mid-use is handed back after the call, and the pool discards it.
SQLite (the embedded development default) takes table locks across threads and stays on
channels' single thread.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from echo_site import realtime

P = ParamSpec("P")
R = TypeVar("R")

HEALTH_CHECK_IDLE_SECONDS = 5.0

_SQLITE = "sqlite" in settings.DATABASES["default"]["ENGINE"]
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LiveDbThreads] = (
    weakref.WeakKeyDictionary()
)
_worker = threading.local()


def in_db_thread(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    if _SQLITE:
        return database_sync_to_async(fn)  # type: ignore[return-value]

    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        pool = _pool(loop)
        outcome, held = await loop.run_in_executor(
            pool, functools.partial(_run, pool, fn, *args, **kwargs)
        )
        realtime.send_released(held)  # what committed goes out, whether or not fn raised
        if isinstance(outcome, _Raised):
            raise outcome.error
        return outcome

    return call


class LiveDbThreads(ThreadPoolExecutor):
    """The live rooms' database threads. Each keeps the pooled connection it took between calls
    (handing it back and taking one again costs 1.8x the CPU of a one-row query: bench/db_hop.py);
    when the loop closes and shuts the executor down, every thread's connection goes back to
    the process's pool, so loops that come and go (tests) never leak pooled connections."""

    def __init__(self) -> None:
        super().__init__(
            max_workers=settings.LIVE_DB_THREADS,
            thread_name_prefix="live-db",
            initializer=self._enlist,
        )
        self._enlisted: list[tuple[threading.Lock, BaseDatabaseWrapper]] = []
        self._enlist_lock = threading.Lock()
        self.closing = False

    def _enlist(self) -> None:
        """Runs first in each new thread: its connection wrapper, and the lock a call holds."""
        _worker.busy = threading.Lock()
        with self._enlist_lock:
            self._enlisted.append((_worker.busy, connections[DEFAULT_DB_ALIAS]))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.closing = True  # a call still queued hands its connection back when it ends
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        with self._enlist_lock:
            enlisted = list(self._enlisted)
        for busy, wrapper in enlisted:
            with busy:  # never under a call in progress
                _hand_back(wrapper)


def _hand_back(wrapper: BaseDatabaseWrapper) -> None:
    """Close `wrapper`'s connection (to the pool: Django's close() returns it there) from
    whichever thread: the thread that owns it is idle or gone."""
    if wrapper.connection is None:
        return
    wrapper.inc_thread_sharing()
    try:
        wrapper.close()
    finally:
        wrapper.dec_thread_sharing()


def _pool(loop: asyncio.AbstractEventLoop) -> LiveDbThreads:
    """The loop's default executor, given LIVE_DB_THREADS threads once: a message's statement
    mostly waits (the round trip, the commit's WAL flush), so a few threads keep several in
    flight; many more contend with the event loop for the GIL. The loop shuts its default
    executor down when it closes."""
    pool = _pools.get(loop)
    if pool is None:
        pool = LiveDbThreads()
        loop.set_default_executor(pool)
        _pools[loop] = pool
    return pool


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _run(
    pool: LiveDbThreads, fn: Callable[..., R], *args: Any, **kwargs: Any
) -> tuple[R | _Raised, realtime.Held]:
    realtime.hold_broadcasts()
    try:
        with _worker.busy:
            return _call(pool, fn, *args, **kwargs), realtime.release_broadcasts()
    except BaseException as error:  # noqa: BLE001 - re-raised on the loop, after the broadcasts
        return _Raised(error), realtime.release_broadcasts()


def _call(pool: LiveDbThreads, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    now = time.monotonic()
    idle_since = getattr(_worker, "last_call", None)
    if idle_since is None or now - idle_since >= HEALTH_CHECK_IDLE_SECONDS:
        for conn in connections.all(initialized_only=True):
            if conn.connection is not None and not conn.is_usable():
                conn.close()  # back to the pool, which drops a broken connection
    try:
        return fn(*args, **kwargs)
    finally:
        _worker.last_call = time.monotonic()
        for conn in connections.all(initialized_only=True):
            # Not close_if_unusable_or_obsolete(): without persistent connections (pooled, so
            # CONN_MAX_AGE is 0) it would hand the connection back after every call.
            if conn.connection is None:
                continue
            if pool.closing:
                conn.close()
            elif conn.errors_occurred:
                if conn.is_usable():
                    conn.errors_occurred = False
                else:
                    conn.close()
