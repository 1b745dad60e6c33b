"""A client that stops reading, against a real daphne (python -m echo_site.serve): its outgoing
buffer is bounded (LIVE_SEND_BUFFER_BYTES / _FRAMES), it is closed with 4008, the server lets go
of the connection and of the memory, and the client resumes gap-free with ?after_seq=.

The load is a catch-up: connecting with ?after_seq=0 to an order with a few megabytes of
messages makes the server send them all at once, which is exactly what a socket that reads
nothing cannot take.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import psutil
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from orders.models import Message, Order
from tests.chat.conftest import bearer

from .conftest import ws_connect

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

MESSAGES = 1500
CONTENT = "x" * 4000  # about 6 MB of frames in all
LIMIT_BYTES = 256 * 1024


def seed_messages(order: Any, sender: Any) -> int:
    """MESSAGES messages after the order's placement; the order's last seq. Runs in a worker
    thread, whose database connection it closes (the test database is dropped at the end)."""
    try:
        first = order.last_seq
        Message.objects.bulk_create(
            Message(order=order, seq=first + k, sender=sender, content=CONTENT)
            for k in range(1, MESSAGES + 1)
        )
        last = first + MESSAGES
        Order.objects.filter(pk=order.pk).update(last_seq=last)
        return last
    finally:
        connection.close()


def timeline_seq(frame: dict[str, Any]) -> int | None:
    if frame["type"] == "message.new":
        return int(frame["message"]["seq"])
    if frame["type"] == "order.status":
        return int(frame["event"]["seq"])
    return None


def small_receive_buffer_socket(port: int) -> socket.socket:
    """A connected socket whose kernel receive buffer is small: a client that stops reading
    fills it quickly, as a phone on a bad network or a stuck tab does."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def stalled_client(server: Any, order: Any, token: str) -> tuple[ClientConnection, int]:
    """Connect with ?after_seq=0 and read nothing; websockets stops reading the socket once a
    couple of frames wait in its queue. The client's local port too."""
    sock = small_receive_buffer_socket(server.port)
    port = sock.getsockname()[1]
    ws = await ws_connect(
        f"{server.ws}/ws/orders/{order.pk}/?after_seq=0", token=token, sock=sock, max_queue=2
    )
    return ws, port


async def read_until_closed(ws: ClientConnection, timeout: float = 30) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []

    async def read() -> None:
        while True:
            frames.append(json.loads(await ws.recv()))

    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(read(), timeout)
    return frames


async def resume(server: Any, order: Any, token: str, after: int) -> list[int]:
    """Reconnect with ?after_seq=, read the replay up to sync.done; the seqs replayed."""
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/?after_seq={after}", token=token)
    seqs: list[int] = []

    async def read() -> None:
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "sync.done":
                return
            seq = timeline_seq(frame)
            if seq is not None:
                seqs.append(seq)

    await asyncio.wait_for(read(), 60)
    await ws.close()
    return seqs


def established_from(pid: int, client_port: int) -> bool:
    """Whether the server process still holds a TCP connection from this client port."""
    return any(
        c.raddr and c.raddr.port == client_port and c.status == psutil.CONN_ESTABLISHED
        for c in psutil.Process(pid).net_connections(kind="tcp")
    )


@pytest.mark.parametrize(
    ("max_bytes", "max_frames"),
    [
        pytest.param(LIMIT_BYTES, 100_000, id="over-the-bytes-limit"),
        pytest.param(2**30, 40, id="over-the-frames-limit"),
    ],
)
async def test_a_client_that_stops_reading_is_closed_4008_and_resumes_gap_free(
    start_daphne, buyer, creator, order, max_bytes, max_frames
):
    last = await database_sync_to_async(seed_messages)(order, creator)
    server = start_daphne(
        LIVE_SEND_BUFFER_BYTES=str(max_bytes),
        LIVE_SEND_BUFFER_FRAMES=str(max_frames),
        # Long enough for this client to read again and find the close frame.
        LIVE_SEND_CLOSE_GRACE_SECONDS="60",
    )
    token = bearer(buyer)
    ws, _ = await stalled_client(server, order, token)
    await asyncio.sleep(3)  # the server sends the whole catch-up meanwhile

    frames = await read_until_closed(ws)
    assert ws.close_code == 4008, f"closed with {ws.close_code}, {len(frames)} frames read"
    assert ws.close_reason == "too slow, resume with after_seq"
    seqs = [s for s in map(timeline_seq, frames) if s is not None]
    assert seqs == list(range(1, len(seqs) + 1))  # what arrived did so in order, gap-free
    assert len(seqs) < last  # the rest was not held for this client
    assert all(frame["type"] != "sync.done" for frame in frames)

    replayed = await resume(server, order, token, after=seqs[-1])
    assert seqs + replayed == list(range(1, last + 1))


async def test_a_client_that_never_reads_again_is_dropped_and_its_memory_given_back(
    start_daphne, buyer, creator, order
):
    last = await database_sync_to_async(seed_messages)(order, creator)
    server = start_daphne(
        LIVE_SEND_BUFFER_BYTES=str(LIMIT_BYTES),
        LIVE_SEND_BUFFER_FRAMES="100000",
        LIVE_SEND_CLOSE_GRACE_SECONDS="1",
    )
    token = bearer(buyer)
    process = psutil.Process(server.proc.pid)
    # Warm up: a client that reads takes the whole catch-up once (the allocator's pools, the
    # database connection, the code paths), then one client stalls and is dropped: the first
    # stall raises the process's high-water mark once (about 4 MB with the channel layer on
    # redis-py), which a second one does not repeat. Then the process's memory is the baseline:
    # what the next stalled client costs is what it holds. Unbounded, it holds the whole
    # catch-up (about 6 MB) again.
    assert await resume(server, order, token, after=0) == list(range(1, last + 1))
    first, first_port = await stalled_client(server, order, token)
    deadline = time.monotonic() + 20
    while established_from(server.proc.pid, first_port) and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
    first.transport.abort()
    await asyncio.sleep(1)
    baseline = process.memory_info().rss

    ws, port = await stalled_client(server, order, token)
    deadline = time.monotonic() + 20
    while established_from(server.proc.pid, port) and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
    assert not established_from(server.proc.pid, port), "the server still holds the connection"
    await asyncio.sleep(2)
    grown = process.memory_info().rss - baseline
    # Unbounded, the server held the whole catch-up (about 6 MB) for this client.
    assert grown < 3 * 2**20, f"RSS grew by {grown / 2**20:.1f} MB"
    ws.transport.abort()
