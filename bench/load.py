"""The load: websocket clients, senders, and the bookkeeping of every delivery.

Every bench message carries `step|sender|n|t_ns` as its content (t_ns: the client's monotonic
clock when it was sent), so a receiver knows which step it belongs to, who sent it, in which order
and how long it took. Per receiver the tool checks:
- duplicates: the same (sender, n) twice;
- out of order: a lower n from the same sender after a higher one, or (ECHO) a seq that does not
  increase;
- gaps (ECHO): a seq that jumps over one (each room member must see every seq of its room);
- lost: expected deliveries (messages accepted x room members) minus distinct deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

CONNECT_TIMEOUT = 60.0
_sender_ids = itertools.count(1)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[index]


@dataclass
class Step:
    """The bookkeeping of one measured step (a paced period, a rate step, a burst)."""

    name: str
    sent: int = 0
    rejected: int = 0
    expected: int = 0
    received: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    gaps: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    first_send: float | None = None
    last_send: float | None = None
    last_recv: float | None = None

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        start = self.first_send or 0.0
        end = self.last_recv or start
        span = max(1e-9, end - start)
        send_span = max(1e-9, (self.last_send or start) - start)
        return {
            "sent": self.sent,
            "rejected": self.rejected,
            "expected": self.expected,
            "received": self.received,
            "lost": max(0, self.expected - self.received),
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "gaps": self.gaps,
            "deliveries_per_s": self.received / span,
            "messages_per_s": (self.sent - self.rejected) / max(send_span, span),
            "p50_ms": percentile(lat, 50),
            "p90_ms": percentile(lat, 90),
            "p99_ms": percentile(lat, 99),
            "max_ms": lat[-1] if lat else float("nan"),
            "span_s": span,
            "errors": dict(self.errors),
        }


class Ledger:
    """Steps by name; the receivers route each delivery to its step."""

    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}

    def step(self, name: str) -> Step:
        if name not in self.steps:
            self.steps[name] = Step(name)
        return self.steps[name]


class Client:
    """One websocket connection and what it received."""

    def __init__(self, *, ledger: Ledger, room: Room, url: str, token: str | None, echo: bool):
        self.ledger = ledger
        self.room = room
        self.url = url
        self.token = token
        self.echo = echo
        self.sid = next(_sender_ids)
        self.n = 0
        self.ws: ClientConnection | None = None
        self.hello: dict[str, Any] | None = None
        self.hello_seen = asyncio.Event()
        self.sync_done = asyncio.Event()
        self.last_seq: int | None = None
        self.last_n: dict[int, int] = {}
        self.seen: set[tuple[int, int]] = set()
        self.replayed: list[int] = []
        self.replay_gaps = 0
        self.closed_code: int | None = None
        self.reader: asyncio.Task[Any] | None = None
        self.pending: dict[str, str] = {}  # client_id -> step
        self.connect_s: float | None = None
        self.resume_from: int | None = None  # set for ?after_seq= clients: the replay follows

    async def open(self, query: str = "") -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        t0 = time.perf_counter()
        self.ws = await connect(
            self.url + query,
            additional_headers=headers,
            compression=None,
            open_timeout=CONNECT_TIMEOUT,
            ping_interval=None,
            max_size=2**20,
            max_queue=None,
        )
        self.reader = asyncio.create_task(self.read())
        if self.echo:
            await asyncio.wait_for(self.hello_seen.wait(), CONNECT_TIMEOUT)
        self.connect_s = time.perf_counter() - t0

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader

    async def abort(self) -> None:
        """Vanish without a close frame: the TCP connection is cut (a phone losing its network)."""
        if self.ws is not None:
            self.ws.transport.abort()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader

    async def send_message(self, step: Step) -> None:
        assert self.ws is not None
        self.n += 1
        now = time.monotonic()
        content = f"{step.name}|{self.sid}|{self.n}|{time.monotonic_ns()}"
        client_id = f"{self.sid}-{self.n}"
        self.pending[client_id] = step.name
        if step.first_send is None:
            step.first_send = now
        step.last_send = now
        step.sent += 1
        step.expected += len(self.room.members)
        frame = {"type": "message.send", "content": content, "client_id": client_id}
        try:
            await self.ws.send(orjson.dumps(frame).decode())
        except ConnectionClosed:
            step.errors["send_on_closed"] += 1

    async def read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                self.on_frame(orjson.loads(raw))
        except ConnectionClosed as exc:
            self.closed_code = exc.rcvd.code if exc.rcvd else None
        finally:
            if self.ws.close_code is not None:
                self.closed_code = self.ws.close_code

    def on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind in ("message.new", "message.ack"):
            message = frame["message"]
            self.on_delivery(message["content"], message.get("seq"), ack=kind == "message.ack")
        elif kind == "message.send":  # a baseline echoing the frame
            self.on_delivery(frame["content"], None, ack=False)
        elif kind == "hello":
            self.hello = frame
            self.last_seq = (
                self.resume_from if self.resume_from is not None else int(frame.get("last_seq", 0))
            )
            self.hello_seen.set()
        elif kind == "sync.done":
            self.sync_done.set()
        elif kind == "error":
            code = str(frame.get("code"))
            step_name = self.pending.pop(str(frame.get("ref")), None)
            if step_name is not None:
                step = self.ledger.step(step_name)
                step.errors[code] += 1
                step.rejected += 1
                step.expected -= len(self.room.members)
            else:
                self.ledger.step("_unattributed").errors[code] += 1

    def on_delivery(self, content: str, seq: int | None, *, ack: bool) -> None:
        now = time.monotonic_ns()
        parts = content.split("|")
        if len(parts) != 4:  # a backlog message (resume storm)
            self.on_seq(seq, None)
            if seq is not None:
                self.replayed.append(seq)
            return
        step_name, sid_s, n_s, t_s = parts
        sid, n = int(sid_s), int(n_s)
        step = self.ledger.step(step_name)
        if ack or sid == self.sid:
            self.pending.pop(f"{sid}-{n}", None)
        key = (sid, n)
        if key in self.seen:
            step.duplicates += 1
            return
        self.seen.add(key)
        step.received += 1
        step.last_recv = now / 1e9
        step.latencies_ms.append((now - int(t_s)) / 1e6)
        if n <= self.last_n.get(sid, 0):
            step.out_of_order += 1
        else:
            self.last_n[sid] = n
        self.on_seq(seq, step)

    def on_seq(self, seq: int | None, step: Step | None) -> None:
        if seq is None:
            return
        if self.last_seq is not None:
            if seq <= self.last_seq:
                if step is not None:
                    step.out_of_order += 1
                else:
                    self.replay_gaps += 1
                return
            if seq != self.last_seq + 1:
                if step is not None:
                    step.gaps += 1
                else:
                    self.replay_gaps += 1
        self.last_seq = seq


@dataclass
class Room:
    """A room under test: its members' tokens, its path, and who sends."""

    key: str
    path: str
    tokens: list[str | None]
    senders: list[int]
    members: list[Client] = field(default_factory=list)


async def connect_all(
    clients: list[Client], *, concurrency: int = 64, query: dict[int, str] | None = None
) -> dict[str, Any]:
    """Open every client, `concurrency` handshakes at a time; connect-time statistics."""
    gate = asyncio.Semaphore(concurrency)
    failures: Counter[str] = Counter()

    async def one(index: int, client: Client) -> None:
        async with gate:
            try:
                await client.open((query or {}).get(index, ""))
            except Exception as exc:  # noqa: BLE001 - counted and reported
                failures[type(exc).__name__] += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i, c) for i, c in enumerate(clients)))
    total = time.perf_counter() - t0
    times = sorted(c.connect_s * 1000 for c in clients if c.connect_s is not None)
    return {
        "connections": len(clients),
        "failed": sum(failures.values()),
        "failures": dict(failures),
        "total_s": total,
        "per_s": len(times) / total if total else 0.0,
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "max_ms": times[-1] if times else float("nan"),
    }


async def close_all(clients: list[Client]) -> None:
    gate = asyncio.Semaphore(200)

    async def one(client: Client) -> None:
        async with gate:
            await client.close()

    await asyncio.gather(*(one(c) for c in clients))


async def drain(step: Step, timeout: float) -> None:
    """Wait until every expected delivery of `step` arrived, or `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and step.received < step.expected:
        await asyncio.sleep(0.05)
    # Let late duplicates or reorders show up.
    await asyncio.sleep(0.2)


async def paced(senders: list[Client], step: Step, *, rate: float, duration: float) -> None:
    """Every sender sends at an equal share of `rate` messages/s for `duration` seconds,
    staggered evenly over one interval."""
    if not senders or rate <= 0:
        return
    interval = len(senders) / rate
    start = time.monotonic() + 0.05
    until = start + duration

    async def loop(offset: float, client: Client) -> None:
        at = start + offset
        while at < until:
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await client.send_message(step)
            at += interval

    await asyncio.gather(*(loop(interval * i / len(senders), c) for i, c in enumerate(senders)))


async def burst(senders: list[Client], step: Step, *, per_sender: int) -> None:
    """Every sender sends `per_sender` messages back to back."""

    async def loop(client: Client) -> None:
        for _ in range(per_sender):
            await client.send_message(step)

    await asyncio.gather(*(loop(c) for c in senders))
