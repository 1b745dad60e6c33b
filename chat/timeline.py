"""The base of rooms with a gap-free timeline (an order's, a dispute's): chat, typing, presence
and read marks, delivered in order.

The database is the source of truth; the channel layer is at-most-once. Each connection
remembers the highest timeline seq it has delivered and fills any gap from the database before
delivering a later entry, so a client sees every message and move once, in order, whatever the
layer drops or reorders. Transport only, like chat/transport.py: no domain imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.serializers import Serializer

from echo_site import events, realtime
from echo_site.errors import ErrorCode, ServiceError, validation_error

from . import presence, ratelimit
from .close_codes import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND
from .db import in_db_thread
from .transport import FrameError, LiveConsumer

logger = logging.getLogger(__name__)

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


@functools.cache
def frame_parser(serializer_class: type[Serializer]) -> Serializer:
    """One instance of a frame's serializer for the process, reused for every frame.

    DRF builds an instance's fields by deep-copying the declared ones: a fresh serializer's
    `is_valid` took 89-95 us per frame, this one's `run_validation` 11-12 us, of a message's
    ~2 ms of event-loop CPU (docs/benchmarks.md). `run_validation` keeps nothing of the data on
    the instance (that is `is_valid`'s bookkeeping) and runs on the event loop without yielding,
    so one instance serves every frame in turn."""
    return serializer_class()


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

    def post_message(
        self, content: str, client_id: str | None, attachment_ids: list[int] | None = None
    ) -> tuple[dict[str, Any], int]:
        """Store a message (with files uploaded before); return (its JSON, its seq)."""
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
                if self.held.get(seq, {}).get("type") != events.MESSAGE_ACK:
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
            done: events.SyncDone = {"type": events.SYNC_DONE, "last_seq": self.delivered_seq}
            await self.send_json(done)

    # Client frames ----------------------------------------------------------------------

    def handlers(self) -> dict[str, Any]:
        return {
            **super().handlers(),
            events.MESSAGE_SEND: self.on_message_send,
            events.TYPING: self.on_typing,
            events.READ: self.on_read,
            events.SYNC: self.on_sync,
        }

    async def on_ping(self, content: dict[str, Any]) -> None:
        pong: events.Pong = {"type": events.PONG, "last_seq": self.delivered_seq}
        await self.send_json(pong)

    async def on_message_send(self, content: dict[str, Any]) -> None:
        # The frame is parsed by the serializer its REST endpoint uses: the same fields, types,
        # lengths and characters (no NUL, no lone surrogates) pass, the same are refused.
        try:
            validated = frame_parser(self.message_input_serializer()).run_validation(content)
        except ValidationError as error:
            raise validation_error(error) from None
        text = validated["content"]
        client_id = validated.get("client_id")
        attachment_ids = validated.get("attachment_ids") or None
        if not await ratelimit.message_allowed(user_id=self.user.pk):
            raise FrameError(
                ErrorCode.RATE_LIMITED,
                f"More than {settings.LIVE_MESSAGES_PER_WINDOW} messages in "
                f"{settings.LIVE_RATE_WINDOW_SECONDS:g} s from your account; this one was not "
                "stored.",
            )
        # The lock is held across the write: no replay (gap filler, heartbeat) may deliver our
        # own message as message.new before its ack.
        async with self.seq_lock:
            message, seq = await in_db_thread(self.post_message)(text, client_id, attachment_ids)
            ack = {"type": events.MESSAGE_ACK, "client_id": client_id, "message": message}
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
            event=events.TYPING,
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
            event=events.PRESENCE,
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
        if event == events.TYPING:
            if data.get("from") != self.channel_name and data["user_id"] != self.user.pk:
                typing: events.Typing = {
                    "type": events.TYPING,
                    "user_id": data["user_id"],
                    "active": data["active"],
                }
                await self.send_json(typing)
            return
        if event == events.PRESENCE:
            await self.send_json({"type": events.PRESENCE, **data})
            return
        await self.send_json({"type": event, **data})
