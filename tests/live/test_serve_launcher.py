"""echo_site.serve and the speed choices it makes: eager TCP writes, the event loop under
Twisted (installed without an event loop policy), and the frame limit from the settings."""

from __future__ import annotations

import json
import socket
import sys

import pytest
from django.conf import settings

from echo_site import serve
from echo_site.patches import twisted as twisted_patches
from tests.chat.conftest import bearer

from .conftest import next_frame, ws_connect
from .servers import Daphne, http_json

# --- Eager TCP writes ---------------------------------------------------------------------


class RecordingReactor:
    """Just what a twisted TCP connection asks of its reactor when it writes."""

    def __init__(self) -> None:
        self.writers: set[object] = set()

    def addWriter(self, selectable: object) -> None:  # noqa: N802 - twisted's name
        self.writers.add(selectable)

    def removeWriter(self, selectable: object) -> None:  # noqa: N802 - twisted's name
        self.writers.discard(selectable)


@pytest.fixture
def eager_connection():
    from twisted.internet import protocol as twisted_protocol
    from twisted.internet import tcp

    buffered_write = tcp.Connection.write
    twisted_patches.apply_eager_tcp_writes()
    ours, theirs = socket.socketpair()
    theirs.settimeout(2)
    reactor = RecordingReactor()
    conn = tcp.Connection(ours, twisted_protocol.Protocol(), reactor)
    conn.connected = 1
    yield conn, theirs, reactor
    tcp.Connection.write = buffered_write
    ours.close()
    theirs.close()


def test_a_write_with_nothing_buffered_goes_to_the_socket_at_once(eager_connection):
    conn, theirs, reactor = eager_connection
    conn.write(b"frame one")
    assert theirs.recv(100) == b"frame one"  # before any turn of the reactor
    assert reactor.writers == set()  # and without asking to be told of writability


def test_what_the_socket_does_not_take_is_buffered_and_sent_in_order(eager_connection):
    conn, theirs, reactor = eager_connection
    big = bytes(range(256)) * 40_000  # 10 MB: more than the socket buffers take at once
    conn.write(big)
    assert reactor.writers == {conn}  # the rest waits for writability, as Twisted does
    conn.write(b"tail")  # behind the buffered rest, never before it
    received = bytearray()
    theirs.setblocking(False)
    while len(received) < len(big) + 4:
        try:
            received += theirs.recv(1 << 20)
        except BlockingIOError:
            pass
        if conn in reactor.writers:
            conn.doWrite()
    assert bytes(received) == big + b"tail"
    assert reactor.writers == set()


def test_a_write_after_the_connection_is_lost_is_dropped(eager_connection):
    conn, theirs, reactor = eager_connection
    conn.connected = 0
    conn.write(b"late")
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(100)


def test_an_unknown_event_loop_stops_start_up_before_anything_is_installed():
    with pytest.raises(SystemExit, match="ECHO_EVENT_LOOP must be one of uvloop, asyncio"):
        serve.install_event_loop("trio")


def test_the_frame_limits_default_to_the_settings_and_the_command_line_wins():
    limit = settings.LIVE_MAX_FRAME_BYTES
    assert serve.with_frame_limit(["-p", "80", "app"], limit) == [
        "--websocket-max-frame-size",
        str(limit),
        "--websocket-max-message-size",
        str(limit),
        "-p",
        "80",
        "app",
    ]
    given = ["--websocket-max-message-size", "100", "--websocket-max-frame-size=50", "app"]
    assert serve.with_frame_limit(given, limit) == given


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_launcher_uses_no_api_python_deprecates_and_runs_on_uvloop(tmp_path):
    """Every DeprecationWarning is an error, and the event loop policy API warns as on 3.14."""
    launcher = [sys.executable, "-W", "error::DeprecationWarning"]
    launcher += ["-m", "tests.live.serve_as_on_314"]
    server = Daphne(
        redis_url=settings.REDIS_URL, log_path=tmp_path / "daphne.log", launcher=launcher
    )
    try:
        status, _ = http_json("GET", f"{server.http}/healthz")
        assert status == 200
        assert server.proc.poll() is None
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert "loop=uvloop" in log
    assert "DeprecationWarning" not in log


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
async def test_a_conversation_works_on_either_event_loop(start_daphne, buyer, creator, order, loop):
    server = start_daphne(ECHO_EVENT_LOOP=loop)
    b = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer))
    c = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(creator))
    await next_frame(b, "hello")
    await next_frame(c, "hello")
    await b.send(json.dumps({"type": "message.send", "content": "hi", "client_id": "m1"}))
    assert (await next_frame(b, "message.ack"))["message"]["content"] == "hi"
    assert (await next_frame(c, "message.new"))["message"]["content"] == "hi"
    await b.close()
    await c.close()
    assert f"loop={loop}" in server.log_path.read_text()
