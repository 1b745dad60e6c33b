"""echo_site.serve: autobahn's debug-log arguments are not built unless its debug log is on,
eager TCP writes, and the event loop under Twisted."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket

import pytest
import txaio
import uvloop
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol
from autobahn.websocket import xormasker as autobahn_xor

from echo_site import serve
from tests.chat.conftest import bearer

from .conftest import next_frame, ws_connect


@pytest.fixture
def restore_autobahn():
    saved = [
        (module, name, getattr(module, name))
        for module in (twisted_websocket, protocol)
        for name in ("hltype", "hlval")
    ] + [(protocol, "pformat", protocol.pformat)]
    level = txaio.get_global_log_level()
    yield
    for module, name, value in saved:
        setattr(module, name, value)
    txaio.set_global_log_level(level)


def test_debug_formatting_is_skipped_when_autobahn_does_not_log_debug(restore_autobahn):
    txaio.set_global_log_level("info")
    serve.skip_unlogged_debug_formatting()
    assert twisted_websocket.hltype(object) == ""
    assert protocol.hlval(123) == ""
    assert protocol.pformat({"a": 1}) == ""


def test_debug_formatting_stays_when_autobahn_logs_debug(restore_autobahn):
    txaio.set_global_log_level("debug")
    serve.skip_unlogged_debug_formatting()
    assert "123" in protocol.hlval(123)
    assert protocol.pformat({"a": 1}) == "{'a': 1}"


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
    serve.eager_tcp_writes()
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


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 100, 511])
def test_small_frames_unmask_as_autobahn_does_in_one_piece_or_many(size):
    mask = os.urandom(4)
    payload = os.urandom(size)
    expected = autobahn_xor.create_xor_masker(mask, 1 << 20).process(payload) if size else b""
    whole = serve.SmallFrameMasker(mask)
    assert whole.process(payload) == expected
    assert whole.pointer() == size
    for cuts in ([1], [3, 7], [2, 5, 6, 13]):  # a frame split over several reads
        masker = serve.SmallFrameMasker(mask)
        bounds = [0, *[c for c in cuts if c < size], size]
        pieces = [masker.process(payload[a:b]) for a, b in itertools.pairwise(bounds)]
        assert b"".join(pieces) == expected
    whole.reset()
    assert whole.pointer() == 0
    assert whole.process(payload) == expected


def test_only_small_frames_get_the_python_masker(monkeypatch):
    monkeypatch.setattr(protocol, "create_xor_masker", protocol.create_xor_masker)
    serve.python_masks_for_small_frames()
    assert isinstance(protocol.create_xor_masker(b"abcd", 511), serve.SmallFrameMasker)
    assert not isinstance(protocol.create_xor_masker(b"abcd", 512), serve.SmallFrameMasker)
    assert not isinstance(protocol.create_xor_masker(b"abcd"), serve.SmallFrameMasker)


@pytest.fixture
def restore_loop_policy():
    policy = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(policy)


def test_the_event_loop_is_chosen_before_daphne_makes_it(restore_loop_policy):
    serve.use_event_loop("uvloop")
    loop = asyncio.new_event_loop()
    assert isinstance(loop, uvloop.Loop)
    loop.close()
    asyncio.set_event_loop_policy(None)
    serve.use_event_loop("asyncio")
    loop = asyncio.new_event_loop()
    assert not isinstance(loop, uvloop.Loop)
    loop.close()
    with pytest.raises(SystemExit, match="ECHO_EVENT_LOOP must be one of uvloop, asyncio"):
        serve.use_event_loop("trio")


def test_importing_the_launcher_leaves_the_event_loop_policy_alone():
    """Tests import echo_site.serve for its patches; only the server process switches loops."""
    assert not isinstance(asyncio.get_event_loop_policy(), uvloop.EventLoopPolicy)


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
    expected = "uvloop.Loop" if loop == "uvloop" else "asyncio.unix_events._UnixSelectorEventLoop"
    assert f"echo_site.serve: event loop {expected}" in server.log_path.read_text()
