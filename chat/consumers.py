"""Live rooms over websockets. Transport only: every write goes through the domain services.

Protocol: docs/websocket-protocol.md. The database is the source of truth; the channel layer is
at-most-once. Each connection remembers the highest timeline seq it has delivered and fills any
gap from the database before delivering a later entry, so a client sees every message and move
once, in order, whatever the layer drops or reorders.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import orjson
from autobahn.exception import Disconnected
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from rest_framework.exceptions import ValidationError

from echo_site import realtime
from echo_site.errors import (
    UNAVAILABLE_ERRORS,
    UNAVAILABLE_MESSAGE,
    ErrorCode,
    ServiceError,
    validation_error,
)

from . import presence, ratelimit
from .auth import Credential, seconds_until_expiry
from .db import in_db_thread
from .fanout import Fanout, fanout
from .heartbeat import heartbeat

logger = logging.getLogger(__name__)

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY_SOCKETS = 4429
CLOSE_TOO_BIG = 1009
# "Try again later": the credential or the room could not be read (the ticket store or the
# database is down). Clients reconnect with backoff (docs/websocket-protocol.md). Not RFC 6455's
# 1013, which daphne (autobahn) does not let an application send.
CLOSE_TRY_AGAIN_LATER = 4503

REPLAY_BATCH = 500
# How long an entry that arrived ahead of its predecessor waits for it before the database fills
# the gap. The layer reorders now and then and drops rarely (only when Redis fails); under load a
# short wait turned every late broadcast into one database read per receiver, which added load
# exactly when there was none to spare (docs/benchmarks.md).
GAP_WAIT_SECONDS = 0.5
# How long a gap may wait behind a backlog of this socket's own queued entries.
GAP_BACKLOG_MAX_SECONDS = 30.0
# The heartbeat's tail check: an entry committed but not yet delivered is usually on its way;
# the database fills it only if it is still missing this much later.
TAIL_GRACE_SECONDS = 1.0
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

    def __init__(self, code: str, message: str) -> None:
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
        left = seconds_until_expiry(self.credential)
        if left is not None:  # a JWT: close at its expiry, not at the next heartbeat
            self.expiry = asyncio.get_running_loop().call_later(left + 0.05, self.expire)

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
        if getattr(self, "expiry", None) is not None:
            self.expiry.cancel()
        for task in getattr(self, "tasks", ()):
            task.cancel()
        if self.drainer is not None:
            self.drainer.cancel()
        user = getattr(self, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            with contextlib.suppress(Exception):
                await self.leave_group(realtime.sockets_group(user.pk))
            if getattr(self, "socket_counted", False):
                with contextlib.suppress(Exception):
                    await presence.sockets_close(user_id=user.pk, channel=self.channel_name)
        await self.leave()

    async def leave(self) -> None:
        """Subclasses leave their room."""

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
                raise FrameError("binary_not_supported", "Send JSON text frames, not binary.")
            if not text_data.strip():
                raise FrameError("empty_frame", "Empty frame; send a JSON object with a type.")
            try:
                content = orjson.loads(text_data)
            except orjson.JSONDecodeError as exc:  # also nesting too deep, numbers out of range
                raise FrameError("malformed_json", f"Malformed JSON: {exc.msg}.") from exc
            if not isinstance(content, dict):
                raise FrameError("invalid_frame", "A frame is a JSON object with a type.")
            ref = frame_ref(content)
            if not self.within_rate(self.frame_times, settings.LIVE_FRAMES_PER_WINDOW):
                raise FrameError(ErrorCode.THROTTLED, "Too many frames; slow down.")
            await self.receive_json(content)
        except FrameError as exc:
            await self.send_error(exc.code, exc.message, ref)
        except ServiceError as exc:
            await self.send_error(exc.code, exc.message, ref)
        except UNAVAILABLE_ERRORS:  # the database is down: the socket stays, the client retries
            logger.warning("database unavailable on %s", self.channel_name, exc_info=True)
            await self.send_error(ErrorCode.SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE, ref)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        frame_type = content.get("type")
        if not isinstance(frame_type, str):
            raise FrameError("invalid_frame", "Every frame needs a string 'type'.")
        handler = self.handlers().get(frame_type)
        if handler is None:
            raise FrameError("unknown_type", f"Unknown frame type {frame_type!r}.")
        await handler(content)

    def handlers(self) -> dict[str, Any]:
        return {"ping": self.on_ping}

    async def on_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    async def send_error(self, code: str, message: str, ref: Any = None) -> None:
        await self.send_json({"type": "error", "code": str(code), "message": message, "ref": ref})

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
        if event == "auth.revoked":
            await self.close_with(CLOSE_NOT_AUTHENTICATED)
            return
        await self.on_live_event(event, data)

    async def on_live_event(self, event: str, data: dict[str, Any]) -> None:
        raise NotImplementedError


class RoomConsumer(LiveConsumer):
    """A room with a gap-free timeline: chat, typing, presence and read marks.

    Subclasses name the room and supply its database operations (sync, run in a thread).
    """

    room: str
    role: str
    delivered_seq: int

    # Hooks implemented by subclasses -------------------------------------------------------

    def load_room(self) -> dict[str, Any]:
        """Authorize the user; return {"role": ..., ...}. Raise ServiceError to refuse."""
        raise NotImplementedError

    def hello_frame(self) -> dict[str, Any]:
        raise NotImplementedError

    def timeline_frames(self, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """(seq, frame) for every timeline entry after `after`, oldest first."""
        raise NotImplementedError

    def post_message(self, content: str, client_id: str | None) -> tuple[dict[str, Any], int]:
        """Store a message; return (its JSON, its seq)."""
        raise NotImplementedError

    def mark_read(self, seq: int) -> int:
        raise NotImplementedError

    def message_input_serializer(self) -> Any:
        """The serializer class of the room's REST endpoint for posting a message."""
        raise NotImplementedError

    def check_thread_open(self) -> None:
        """Raise the ServiceError a message would get now if the thread takes none."""
        raise NotImplementedError

    def room_name(self) -> str:
        raise NotImplementedError

    def seq_event_frame(
        self, event: str, data: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        """The frame for a timeline event from the layer, or None if it is not one."""
        raise NotImplementedError

    # Lifecycle ------------------------------------------------------------------------------

    async def open(self) -> bool:
        self.seq_lock = asyncio.Lock()
        self.held: dict[int, dict[str, Any]] = {}  # seq -> frame waiting for the ones before it
        self.gap_task: asyncio.Task[Any] | None = None
        self.typing_task: asyncio.Task[Any] | None = None
        self.room = self.room_name()
        # Join before reading the snapshot: whatever commits after the read reaches us live.
        # Joining before the authorization costs a refused socket nothing: it is closed before
        # any event is dispatched to it, and it leaves the group below.
        await self.join_group(self.room)
        try:
            # One trip to the database thread: authorize, then read the snapshot.
            hello = await in_db_thread(self.authorize_and_hello)()
        except ServiceError as exc:
            with contextlib.suppress(Exception):
                await self.leave_group(self.room)
            code = {
                ErrorCode.NOT_FOUND: CLOSE_NOT_FOUND,
                ErrorCode.NOT_A_PARTY: CLOSE_FORBIDDEN,
                ErrorCode.PERMISSION_DENIED: CLOSE_FORBIDDEN,
            }.get(ErrorCode(exc.code), CLOSE_FORBIDDEN)
            await self.close_with(code)
            return False
        self.joined = True
        self.delivered_seq = hello["last_seq"]
        first, online = await self.presence_join()
        hello["online"] = [{"user_id": p.user_id, "role": p.role} for p in online]
        await self.send_json(hello)
        if first:
            await self.broadcast_presence(online=True)
        after = self.query_int("after_seq")
        if after is not None:
            await self.sync(after)
        return True

    def busy_with_timeline(self) -> bool:
        lock = getattr(self, "seq_lock", None)
        return lock is not None and lock.locked()

    def authorize_and_hello(self) -> dict[str, Any]:
        self.role = self.load_room()["role"]
        return self.hello_frame()

    async def leave(self) -> None:
        if getattr(self, "gap_task", None) is not None:
            self.gap_task.cancel()  # type: ignore[union-attr]
        if not getattr(self, "joined", False):
            return
        with contextlib.suppress(Exception):
            await self.leave_group(self.room)
        if self.typing_task is not None:
            self.typing_task.cancel()
            with contextlib.suppress(Exception):
                await self.broadcast_typing(active=False)
        try:
            last = await presence.leave(
                room=self.room, user_id=self.user.pk, role=self.role, channel=self.channel_name
            )
            if last:
                await self.broadcast_presence(online=False)
        except Exception:
            logger.warning("presence leave failed on %s", self.room, exc_info=True)

    def query_int(self, name: str) -> int | None:
        from urllib.parse import parse_qs

        values = parse_qs(self.scope.get("query_string", b"").decode("latin1")).get(name)
        if not values:
            return None
        try:
            value = int(values[0])
        except ValueError:
            return None
        return value if value >= 0 else None

    # Timeline delivery ------------------------------------------------------------------

    async def replay_after(self, after: int, before: int | None = None) -> None:
        """Send every timeline entry after `after` (and before `before`, if given) from the
        database; an entry held in `self.held` goes out as held (an ack stays an ack). Caller
        holds seq_lock."""
        cursor = after
        while True:
            frames = await in_db_thread(self.timeline_frames)(cursor, REPLAY_BATCH)
            for seq, frame in frames:
                if before is not None and seq >= before:
                    self.delivered_seq = max(self.delivered_seq, cursor)
                    return
                held = self.held.pop(seq, None)
                await self.send_json(held if held is not None else frame)
                cursor = seq
            self.delivered_seq = max(self.delivered_seq, cursor)
            if len(frames) < REPLAY_BATCH:
                await self.send_held()
                return

    async def deliver(self, seq: int, frame: dict[str, Any]) -> None:
        """Deliver one timeline entry in order.

        An entry that arrives before the one it follows (the layer reorders: concurrent commits
        hand their broadcasts over in any order) is held for up to GAP_WAIT_SECONDS; the missing
        entry usually arrives meanwhile and both go out in order. If it does not (the layer
        dropped it), the gap is filled from the database.
        """
        async with self.seq_lock:
            if seq <= self.delivered_seq:
                return
            if seq > self.delivered_seq + 1:
                if self.held.get(seq, {}).get("type") != "message.ack":
                    self.held[seq] = frame
                self.await_gap()
                return
            await self.send_json(frame)
            self.delivered_seq = seq
            await self.send_held()

    async def send_held(self) -> None:
        """Send held entries that are next in line. Caller holds seq_lock."""
        while self.delivered_seq + 1 in self.held:
            self.delivered_seq += 1
            await self.send_json(self.held.pop(self.delivered_seq))
        for seq in [s for s in self.held if s <= self.delivered_seq]:
            del self.held[seq]
        if not self.held and self.gap_task is not None:
            self.gap_task.cancel()
            self.gap_task = None

    def await_gap(self) -> None:
        if self.gap_task is None:
            self.gap_task = asyncio.create_task(self.fill_gap_later())

    async def fill_gap_later(self) -> None:
        waited = 0.0
        while True:
            await asyncio.sleep(GAP_WAIT_SECONDS)
            waited += GAP_WAIT_SECONDS
            # Entries still queued for this socket in this process may hold the missing one:
            # that is a backlog (a burst), not a loss, and reading the database for it would
            # only deepen the backlog.
            if waited >= GAP_BACKLOG_MAX_SECONDS or not self.backlog():
                break
        async with self.seq_lock:
            self.gap_task = None
            if self.held and not self.closed:
                await self.replay_after(self.delivered_seq)

    async def sync(self, after: int) -> None:
        async with self.seq_lock:
            if after > self.delivered_seq:
                # A seq this socket has not delivered: at most the room's real last one. A
                # client that claims a future seq (or one past 64 bits) resumes from the real
                # end and still receives what comes next.
                after = min(after, await in_db_thread(self.last_seq)())
            self.delivered_seq = after
            await self.replay_after(after)
            await self.send_json({"type": "sync.done", "last_seq": self.delivered_seq})

    # Client frames ----------------------------------------------------------------------

    def handlers(self) -> dict[str, Any]:
        return {
            **super().handlers(),
            "message.send": self.on_message_send,
            "typing": self.on_typing,
            "read": self.on_read,
            "sync": self.on_sync,
        }

    async def on_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong", "last_seq": self.delivered_seq})

    async def on_message_send(self, content: dict[str, Any]) -> None:
        # The frame is parsed by the serializer its REST endpoint uses: the same fields, types,
        # lengths and characters (no NUL, no lone surrogates) pass, the same are refused.
        serializer = self.message_input_serializer()(data=content)
        if not serializer.is_valid():
            raise validation_error(ValidationError(serializer.errors))
        text = serializer.validated_data["content"]
        client_id = serializer.validated_data.get("client_id")
        if not await ratelimit.message_allowed(user_id=self.user.pk):
            raise FrameError(
                "rate_limited",
                f"More than {settings.LIVE_MESSAGES_PER_WINDOW} messages in "
                f"{settings.LIVE_RATE_WINDOW_SECONDS:g} s from your account; this one was not "
                "stored.",
            )
        # The lock is held across the write: no replay (gap filler, heartbeat) may deliver our
        # own message as message.new before its ack.
        async with self.seq_lock:
            message, seq = await in_db_thread(self.post_message)(text, client_id)
            ack = {"type": "message.ack", "client_id": client_id, "message": message}
            if seq <= self.delivered_seq:  # a retried client_id: the original, acked again
                await self.send_json(ack)
            elif seq > self.delivered_seq + 1:
                # Entries before ours are still on their way: the ack waits for them, in order.
                self.held[seq] = ack
                self.await_gap()
            else:
                await self.send_json(ack)
                self.delivered_seq = seq
                await self.send_held()
        await self.stop_typing()

    async def on_typing(self, content: dict[str, Any]) -> None:
        active = content.get("active")
        if not isinstance(active, bool):
            raise FrameError(ErrorCode.INVALID, "typing needs a boolean 'active'.")
        if self.role == "admin" and not self.admin_may_post():
            raise FrameError(ErrorCode.PERMISSION_DENIED, "Observers do not type.")
        if active:
            # Refused as message.send would be refused now (a closed order or dispute).
            await in_db_thread(self.check_thread_open)()
            if self.typing_task is not None:
                self.typing_task.cancel()
            else:
                await self.broadcast_typing(active=True)
            self.typing_task = asyncio.create_task(self.expire_typing())
        else:
            await self.stop_typing()

    def admin_may_post(self) -> bool:
        return False

    async def stop_typing(self) -> None:
        if self.typing_task is not None:
            self.typing_task.cancel()
            self.typing_task = None
            await self.broadcast_typing(active=False)

    async def expire_typing(self) -> None:
        await asyncio.sleep(settings.LIVE_TYPING_TTL_SECONDS)
        self.typing_task = None
        await self.broadcast_typing(active=False)

    async def broadcast_typing(self, *, active: bool) -> None:
        await realtime.broadcast_now(
            groups=[self.room],
            event="typing",
            data={"user_id": self.user.pk, "active": active, "from": self.channel_name},
        )

    async def on_read(self, content: dict[str, Any]) -> None:
        seq = content.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise FrameError(ErrorCode.INVALID, "read needs a non-negative integer 'seq'.")
        await in_db_thread(self.mark_read)(seq)

    async def on_sync(self, content: dict[str, Any]) -> None:
        after = content.get("after_seq")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise FrameError(ErrorCode.INVALID, "sync needs a non-negative integer 'after_seq'.")
        await self.sync(after)

    def last_seq(self) -> int:
        """The room's last timeline seq in the database."""
        return int(self.tail_reader()({self.room_id()}).get(self.room_id(), 0))

    # Presence ---------------------------------------------------------------------------

    async def presence_join(self) -> tuple[bool, list[presence.Present]]:
        """(first connection of this user in the room, who is online now)."""
        try:
            return await presence.join(
                room=self.room, user_id=self.user.pk, role=self.role, channel=self.channel_name
            )
        except Exception:
            logger.warning("presence join failed on %s", self.room, exc_info=True)
            return False, [presence.Present(user_id=self.user.pk, role=self.role)]

    async def broadcast_presence(
        self, *, online: bool, user_id: int | None = None, role: str | None = None
    ) -> None:
        await realtime.broadcast_now(
            groups=[self.room],
            event="presence",
            data={
                "user_id": user_id or self.user.pk,
                "online": online,
                "role": role or self.role,
            },
        )

    def presence_entries(self) -> list[tuple[str, str]]:
        entries = super().presence_entries()
        if getattr(self, "joined", False):
            field = presence.room_field(
                user_id=self.user.pk, role=self.role, channel=self.channel_name
            )
            entries.append((self.room, field))
        return entries

    def presence_room(self) -> str | None:
        return self.room if getattr(self, "joined", False) else None

    def check_tail(self, last: int) -> None:
        if last > self.delivered_seq and not self.closed:
            self.tasks.append(asyncio.create_task(self.catch_up_tail(last)))

    async def catch_up_tail(self, last: int) -> None:
        # Entries committed but not yet here are usually on their way: wait a moment first.
        await asyncio.sleep(TAIL_GRACE_SECONDS)
        if last > self.delivered_seq and not self.closed:
            async with self.seq_lock:
                await self.replay_after(self.delivered_seq)

    # Layer events -------------------------------------------------------------------------

    async def on_live_event(self, event: str, data: dict[str, Any]) -> None:
        timeline = self.seq_event_frame(event, data)
        if timeline is not None:
            seq, frame = timeline
            await self.deliver(seq, frame)
            return
        if event == "typing":
            if data.get("from") != self.channel_name and data["user_id"] != self.user.pk:
                await self.send_json(
                    {"type": "typing", "user_id": data["user_id"], "active": data["active"]}
                )
            return
        if event == "presence":
            await self.send_json({"type": "presence", **data})
            return
        await self.send_json({"type": event, **data})


class OrderRoomConsumer(RoomConsumer):
    """ws /ws/orders/{order_id}/ — one order's room."""

    def room_name(self) -> str:
        self.order_id = int(self.scope["url_route"]["kwargs"]["order_id"])
        return realtime.order_group(self.order_id)

    def load_room(self) -> dict[str, Any]:
        from orders.rooms import order_room_state

        self.order_id = int(self.scope["url_route"]["kwargs"]["order_id"])
        # The order, its snapshot and the unread count in one read (one query on PostgreSQL).
        self.room_state = order_room_state(order_id=self.order_id, user=self.user)
        order = self.order = self.room_state.order
        if order.buyer_id == self.user.pk:
            role = "buyer"
        elif order.creator_id == self.user.pk:
            role = "creator"
        else:
            role = "admin"
        return {"role": role}

    def hello_frame(self) -> dict[str, Any]:
        state, self.room_state = self.room_state, None  # type: ignore[assignment]
        return {
            "type": "hello",
            "room": "order",
            "order_id": state.order.pk,
            "you": {"user_id": self.user.pk, "role": self.role},
            "order": state.snapshot,
            "status": state.order.status,
            "allowed_moves": state.snapshot["allowed_moves"],
            "last_seq": state.order.last_seq,
            "unread": state.unread,
        }

    def timeline_frames(self, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        from .frames import order_timeline_frames

        return order_timeline_frames(
            order_id=self.order_id, user=self.user, after=after, limit=limit
        )

    def tail_reader(self) -> Any:
        from orders.selectors import order_last_seqs

        return order_last_seqs

    def room_id(self) -> int:
        return self.order_id

    def post_message(self, content: str, client_id: str | None) -> tuple[dict[str, Any], int]:
        from orders import services
        from orders.live import message_data

        message, _ = services.message_post(
            order=self.order, sender=self.user, content=content, client_id=client_id
        )
        return message_data(message), message.seq

    def mark_read(self, seq: int) -> int:
        from orders import services

        return services.read_mark(order=self.order, user=self.user, seq=seq)

    def message_input_serializer(self) -> Any:
        from orders.serializers import MessageInputSerializer

        return MessageInputSerializer

    def check_thread_open(self) -> None:
        from orders import services

        services.message_thread_check(order_id=self.order_id)

    def seq_event_frame(
        self, event: str, data: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        from .frames import order_status_frame

        if event == "message.new":
            return data["seq"], {"type": "message.new", "message": data["message"]}
        if event in ("order.status", "order.created"):
            return data["seq"], order_status_frame(data["order"], data["event"], self.user)
        return None


class NotificationsConsumer(LiveConsumer):
    """ws /ws/notifications/ — everything on every order where the caller is a party."""

    async def open(self) -> bool:
        self.feed = realtime.user_group(self.user.pk)
        await self.join_group(self.feed)
        from .frames import unread_by_order

        unread = await in_db_thread(unread_by_order)(self.user)
        await self.send_json(
            {"type": "hello", "room": "notifications", "user_id": self.user.pk, "unread": unread}
        )
        return True

    async def leave(self) -> None:
        if hasattr(self, "feed"):
            with contextlib.suppress(Exception):
                await self.leave_group(self.feed)

    async def on_live_event(self, event: str, data: dict[str, Any]) -> None:
        if event in ("order.status", "order.created"):
            from .frames import with_allowed_moves

            data = {**data, "order": with_allowed_moves(data["order"], self.user)}
        await self.send_json({"type": event, **data})


class DisputeRoomConsumer(RoomConsumer):
    """ws /ws/disputes/{dispute_id}/ — the dispute's thread, for both parties and any admin."""

    def room_name(self) -> str:
        self.dispute_id = int(self.scope["url_route"]["kwargs"]["dispute_id"])
        return realtime.dispute_group(self.dispute_id)

    def admin_may_post(self) -> bool:
        return True

    def load_room(self) -> dict[str, Any]:
        from disputes.selectors import dispute_get_for_user
        from disputes.services import dispute_admin_joined

        self.dispute_id = int(self.scope["url_route"]["kwargs"]["dispute_id"])
        dispute = dispute_get_for_user(dispute_id=self.dispute_id, user=self.user)
        if dispute.order.buyer_id == self.user.pk:
            role = "buyer"
        elif dispute.order.creator_id == self.user.pk:
            role = "creator"
        else:
            role = "admin"
            # An admin joining the room starts the review.
            dispute = dispute_admin_joined(dispute=dispute, admin=self.user)
        self.dispute = dispute
        return {"role": role}

    def hello_frame(self) -> dict[str, Any]:
        from disputes.live import dispute_data
        from disputes.models import Dispute

        dispute = Dispute.objects.select_related("opened_by").get(pk=self.dispute_id)
        self.dispute.status = dispute.status
        return {
            "type": "hello",
            "room": "dispute",
            "dispute_id": dispute.pk,
            "order_id": dispute.order_id,
            "you": {"user_id": self.user.pk, "role": self.role},
            "dispute": dispute_data(dispute),
            "status": dispute.status,
            "last_seq": dispute.last_seq,
        }

    def timeline_frames(self, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        from disputes.live import message_data
        from disputes.selectors import dispute_messages_after

        return [
            (m.seq, {"type": "message.new", "message": message_data(m)})
            for m in dispute_messages_after(dispute_id=self.dispute_id, after=after, limit=limit)
        ]

    def tail_reader(self) -> Any:
        from disputes.selectors import dispute_last_seqs

        return dispute_last_seqs

    def room_id(self) -> int:
        return self.dispute_id

    def post_message(self, content: str, client_id: str | None) -> tuple[dict[str, Any], int]:
        from disputes import services
        from disputes.live import message_data

        message, _ = services.dispute_message_post(
            dispute=self.dispute, sender=self.user, content=content, client_id=client_id
        )
        return message_data(message), message.seq

    def mark_read(self, seq: int) -> int:
        from disputes import services

        return services.dispute_read_mark(dispute=self.dispute, user=self.user, seq=seq)

    def message_input_serializer(self) -> Any:
        from disputes.serializers import DisputeMessageInputSerializer

        return DisputeMessageInputSerializer

    def check_thread_open(self) -> None:
        from disputes import services

        services.dispute_thread_check(dispute_id=self.dispute_id)

    def seq_event_frame(
        self, event: str, data: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        if event == "message.new":
            return data["seq"], {"type": "message.new", "message": data["message"]}
        return None


class AdminDisputesConsumer(LiveConsumer):
    """ws /ws/admin/disputes/ — the mediation desk's live queue (staff only)."""

    async def open(self) -> bool:
        if not self.user.is_staff:
            await self.close_with(CLOSE_FORBIDDEN)
            return False
        self.queue = realtime.admin_disputes_group()
        await self.join_group(self.queue)
        from disputes.live import dispute_data
        from disputes.selectors import dispute_list_open

        def open_disputes() -> list[dict[str, Any]]:
            return [dispute_data(d) for d in dispute_list_open()[:500]]

        disputes = await in_db_thread(open_disputes)()
        await self.send_json({"type": "hello", "room": "admin.disputes", "open": disputes})
        return True

    async def leave(self) -> None:
        if hasattr(self, "queue"):
            with contextlib.suppress(Exception):
                await self.leave_group(self.queue)

    async def on_live_event(self, event: str, data: dict[str, Any]) -> None:
        await self.send_json({"type": event, **data})
