"""The websocket transport every live room stands on: the socket's life (handshake checks, the
per-user socket cap, credential expiry and its renewal in band: chat/renewal.py), frame parsing
and error frames, the per-socket frame rate, and events from the channel layer through the
process's fan-out.

Transport only: this module imports no domain app (orders, payments, disputes); rooms plug the
domain in (chat/rooms/). Protocol: docs/websocket-protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from datetime import datetime
from typing import Any

import orjson
from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from echo_site import events, realtime
from echo_site.errors import UNAVAILABLE_ERRORS, UNAVAILABLE_MESSAGE, ErrorCode, ServiceError

from . import presence
from .auth import Credential
from .close_codes import (
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_TOO_BIG,
    CLOSE_TOO_MANY_SOCKETS,
    CLOSE_TRY_AGAIN_LATER,
)
from .fanout import Fanout, fanout
from .heartbeat import heartbeat
from .renewal import ExpiryClock, ForeignToken, credential_renew, iso_utc

logger = logging.getLogger(__name__)

# Clean-ups of sockets whose task ended without disconnect() (a crash, a cancellation): held
# here until they are done.
_cleanups: set[asyncio.Task[None]] = set()


def frame_ref(content: dict[str, Any]) -> Any:
    """What an error caused by this frame names: its `ref` (a string or an integer), else its
    `client_id`."""
    for key in ("ref", "client_id"):
        value = content.get(key)
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
    return None


class FrameError(Exception):
    """A recoverable protocol mistake by the client: answered with an error frame."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Authentication, frame parsing, error frames, rate limits and credential expiry."""

    user: Any
    credential: Credential | None
    fanout: Fanout
    # Layer events that arrived while this socket was busy, and the task that hands them over.
    inbox: deque[dict[str, Any]] | None = None
    drainer: asyncio.Task[None] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' AsyncConsumer.__call__ without a layer channel for each socket.

        Events from the layer reach this socket through the process's fan-out
        (chat/fanout.py, `fanout_receive`); frames from the client are read in a plain loop.
        As in Channels, one thing is dispatched at a time: a frame or an event waits until the
        one before it is handled (`dispatching`).
        """
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.fanout = fanout(self.channel_layer)
        # The socket's name in presence entries and in the "from" of its own typing events.
        self.channel_name = self.fanout.socket_id()
        self.base_send = send
        self.dispatching = asyncio.Lock()
        self.joined_groups: list[str] = []
        self.disconnected = False
        try:
            while True:
                message = await receive()
                async with self.dispatching:
                    await self.dispatch(message)
        except StopConsumer:
            pass
        finally:
            if not self.disconnected:
                # Ended without disconnect(): a handler raised, or the task was cancelled (the
                # server gave up on it). Its per-user slot, presence and heartbeat go now, not
                # when the presence entry goes stale.
                self.closed = True
                for group in self.joined_groups:
                    self.fanout.leave_later(group, self)
                self.joined_groups = []
                task = asyncio.get_running_loop().create_task(self.disconnect(1006))
                _cleanups.add(task)
                task.add_done_callback(_cleanups.discard)

    async def send_json(self, content: Any, close: bool = False) -> None:
        """Every frame to the client goes through here. A socket that is closing (the client's
        close frame is in, its disconnect not yet) takes nothing more: daphne's websocket raises
        `Disconnected`. That is a routine disconnect, not an error: the frame is dropped and the
        socket counts as closed."""
        try:
            await super().send_json(content, close=close)
        except Disconnected:
            self.closed = True

    async def join_group(self, group: str) -> None:
        await self.fanout.join(group, self)
        self.joined_groups.append(group)

    async def leave_group(self, group: str) -> None:
        if group in self.joined_groups:
            self.joined_groups.remove(group)
        await self.fanout.leave(group, self)

    async def fanout_receive(self, message: dict[str, Any]) -> None:
        """An event for one of this socket's groups: handled now if the socket is free, else
        queued behind what it is doing, in order, without holding up the process's reader."""
        if self.inbox or self.dispatching.locked() or self.busy_with_timeline():
            if self.inbox is None:
                self.inbox = deque()
            self.inbox.append(message)
            if self.drainer is None:
                self.drainer = asyncio.get_running_loop().create_task(self.drain_inbox())
            return
        async with self.dispatching:
            await self.dispatch(message)

    async def drain_inbox(self) -> None:
        try:
            async with self.dispatching:
                while self.inbox:
                    message = self.inbox.popleft()
                    try:
                        await self.dispatch(message)
                    except Exception:
                        logger.exception("live event failed on %s", self.channel_name)
        finally:
            self.drainer = None

    def busy_with_timeline(self) -> bool:
        """True while a timeline event would have to wait (RoomConsumer: its seq lock)."""
        return False

    def backlog(self) -> int:
        """Events that have reached this process and not yet this socket."""
        return len(self.inbox or ()) + self.fanout.backlog()

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without its `aclose_old_connections()` before every message.

        That call is a hop to the database thread for every frame and every layer event, even
        those that never touch the database. Every database call here goes through
        `database_sync_to_async`, which closes old connections around each call itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        return orjson.loads(text_data)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return orjson.dumps(content, default=str).decode()

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        self.credential = self.scope.get("credential")
        self.tasks: list[asyncio.Task[Any]] = []
        # Frame times inside the rate window; a list, not a deque: an empty deque is a 64-slot
        # block (~0.7 KB) per socket, and a window holds a few dozen entries at most. (The
        # message limit is per user: chat/ratelimit.py.)
        self.frame_times: list[float] = []
        self.closed = False
        await self.accept()
        if self.scope.get("credential_unavailable"):
            await self.close_with(CLOSE_TRY_AGAIN_LATER)
            return
        if self.credential is None or not getattr(self.user, "is_authenticated", False):
            await self.close_with(CLOSE_NOT_AUTHENTICATED)
            return
        if not await self.count_socket():
            await self.close_with(CLOSE_TOO_MANY_SOCKETS)
            return
        # With Redis down the joins still succeed: the layer subscribes when it is back
        # (echo_site/channel_layer.py), and the socket is served from the database meanwhile.
        await self.join_group(realtime.sockets_group(self.user.pk))
        try:
            opened = await self.open()
        except UNAVAILABLE_ERRORS:
            logger.warning("room unavailable on %s", self.channel_name, exc_info=True)
            await self.close_with(CLOSE_TRY_AGAIN_LATER)
            return
        if not opened:
            return
        heartbeat().join(self)
        # A JWT: warned before its expiry, closed at it (not at the next heartbeat) unless
        # renewed with auth.refresh (chat/renewal.py).
        self.clock = ExpiryClock(warn=self.warn_expiring, expire=self.expire)
        self.clock.set(self.credential)

    async def open(self) -> bool:
        """Subclasses authorize and join their room; False if the socket was closed."""
        raise NotImplementedError

    async def count_socket(self) -> bool:
        """Enforce LIVE_MAX_SOCKETS_PER_USER; best effort when the presence store is down."""
        try:
            held = await presence.sockets_open(user_id=self.user.pk, channel=self.channel_name)
        except Exception:
            logger.warning("socket count failed for user %s", self.user.pk, exc_info=True)
            # The store is down: the cap holds per process meanwhile, and this socket is counted
            # by the heartbeat's refresh once the store is back.
            here = sum(1 for m in heartbeat().members if m.user.pk == self.user.pk)
            if here + 1 > settings.LIVE_MAX_SOCKETS_PER_USER:
                return False
            self.socket_counted = True
            return True
        if held > settings.LIVE_MAX_SOCKETS_PER_USER:
            await presence.sockets_close(user_id=self.user.pk, channel=self.channel_name)
            return False
        self.socket_counted = True
        return True

    async def close_with(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.disconnected:
            return
        self.disconnected = True
        self.closed = True
        heartbeat().leave(self)
        if getattr(self, "clock", None) is not None:
            self.clock.stop()
        for task in getattr(self, "tasks", ()):
            task.cancel()
        if self.drainer is not None:
            self.drainer.cancel()
        user = getattr(self, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            if getattr(self, "socket_counted", False):
                with contextlib.suppress(Exception):
                    await presence.sockets_close(user_id=user.pk, channel=self.channel_name)
        await self.leave()
        for group in list(self.joined_groups):  # the user's sockets group, and every room's
            with contextlib.suppress(Exception):
                await self.leave_group(group)

    async def leave(self) -> None:
        """What a room does on leaving besides leaving its groups (which the transport does
        for every group joined through `join_group`)."""

    # --- Incoming frames ------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.closed:
            return
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > settings.LIVE_MAX_FRAME_BYTES:
            await self.close_with(CLOSE_TOO_BIG)
            return
        ref = None
        try:
            if text_data is None:
                raise FrameError(
                    ErrorCode.BINARY_NOT_SUPPORTED, "Send JSON text frames, not binary."
                )
            if not text_data.strip():
                raise FrameError(
                    ErrorCode.EMPTY_FRAME, "Empty frame; send a JSON object with a type."
                )
            try:
                content = orjson.loads(text_data)
            except orjson.JSONDecodeError as exc:  # also nesting too deep, numbers out of range
                raise FrameError(ErrorCode.MALFORMED_JSON, f"Malformed JSON: {exc.msg}.") from exc
            if not isinstance(content, dict):
                raise FrameError(ErrorCode.INVALID_FRAME, "A frame is a JSON object with a type.")
            ref = frame_ref(content)
            if not self.within_rate(self.frame_times, settings.LIVE_FRAMES_PER_WINDOW):
                raise FrameError(ErrorCode.THROTTLED, "Too many frames; slow down.")
            await self.receive_json(content)
        except FrameError as exc:
            await self.send_error(exc.code, exc.message, ref)
        except ServiceError as exc:
            await self.send_error(ErrorCode(exc.code), exc.message, ref)
        except UNAVAILABLE_ERRORS:  # the database is down: the socket stays, the client retries
            logger.warning("database unavailable on %s", self.channel_name, exc_info=True)
            await self.send_error(ErrorCode.SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE, ref)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        frame_type = content.get("type")
        if not isinstance(frame_type, str):
            raise FrameError(ErrorCode.INVALID_FRAME, "Every frame needs a string 'type'.")
        handler = self.handlers().get(frame_type)
        if handler is None:
            raise FrameError(ErrorCode.UNKNOWN_TYPE, f"Unknown frame type {frame_type!r}.")
        await handler(content)

    def handlers(self) -> dict[str, Any]:
        return {events.PING: self.on_ping, events.AUTH_REFRESH: self.on_auth_refresh}

    async def on_ping(self, content: dict[str, Any]) -> None:
        pong: events.Pong = {"type": events.PONG}
        await self.send_json(pong)

    async def on_auth_refresh(self, content: dict[str, Any]) -> None:
        """A fresh access token: the socket lives until its expiry. A bad one raises an error
        frame (ServiceError) and the old expiry stands."""
        try:
            credential = await credential_renew(
                credential=self.credential, token=content.get("token")
            )
        except ForeignToken:
            # A socket never changes owner: its rooms, presence, socket count and everything it
            # was sent were authorized for the user who opened it. Another user's token on it is
            # an app that switched accounts, or a stolen token tried on an open socket: close it
            # as unauthenticated, and the client reconnects as whoever it now is.
            await self.close_with(CLOSE_NOT_AUTHENTICATED)
            return
        if self.closed:  # expired (or closed otherwise) while the token was checked
            return
        self.credential = credential  # the heartbeat re-checks this one from now on
        self.clock.set(credential)
        assert credential.expires_at is not None  # noqa: S101 - credential_renew returns a JWT's
        refreshed: events.AuthRefreshed = {
            "type": events.AUTH_REFRESHED,
            "expires_at": iso_utc(credential.expires_at),
        }
        await self.send_json(refreshed)

    async def send_error(self, code: ErrorCode, message: str, ref: Any = None) -> None:
        error: events.ErrorFrame = {
            "type": events.ERROR,
            "code": code,
            "message": message,
            "ref": ref,
        }
        await self.send_json(error)

    def within_rate(self, times: list[float], limit: int) -> bool:
        now = time.monotonic()
        start = now - settings.LIVE_RATE_WINDOW_SECONDS
        expired = 0
        while expired < len(times) and times[expired] <= start:
            expired += 1
        if expired:
            del times[:expired]
        if len(times) >= limit:
            return False
        times.append(now)
        return True

    # --- Credential and heartbeat ---------------------------------------------------------

    def expire(self) -> None:
        self.tasks.append(asyncio.create_task(self.close_with(CLOSE_NOT_AUTHENTICATED)))

    async def warn_expiring(self, expires_at: datetime) -> None:
        if self.closed:
            return
        expiring: events.AuthExpiring = {
            "type": events.AUTH_EXPIRING,
            "expires_at": iso_utc(expires_at),
        }
        await self.send_json(expiring)

    # What the process-wide heartbeat (chat/heartbeat.py) asks of each socket.

    def presence_entries(self) -> list[tuple[str, str]]:
        """(room, field) presence entries to refresh."""
        if not getattr(self, "socket_counted", False):
            return []
        return [presence.socket_entry(user_id=self.user.pk, channel=self.channel_name)]

    def presence_room(self) -> str | None:
        """The room whose stale entries this process sweeps, if any."""
        return None

    def tail_reader(self) -> Any:
        """A function {room id} -> {room id: last seq}, for rooms with a timeline."""
        return None

    def room_id(self) -> int:
        raise NotImplementedError

    def check_tail(self, last: int) -> None:
        """The room's timeline ends at `last` in the database."""

    # --- Events from the channel layer ----------------------------------------------------

    async def live_event(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        event, data = message["event"], message["data"]
        if event == events.AUTH_REVOKED:
            await self.close_with(CLOSE_NOT_AUTHENTICATED)
            return
        await self.on_live_event(event, data)

    async def on_live_event(self, event: str, data: dict[str, Any]) -> None:
        raise NotImplementedError
