"""`python -m echo_site.serve [daphne options] echo_site.asgi:application` — daphne, as in the
Procfile, with these changes:
- a frame over the size limit is answered with a close frame carrying 1009 (message too big),
  where autobahn's default drops the TCP connection (the client sees 1006);
- autobahn's debug-log arguments are no longer built when nobody logs them: it evaluates
  `hltype(...)`/`hlval(...)` (terminal colours through click, when click is installed) for every
  chunk received and every frame sent, and `pformat` of its settings on every connect, before
  the logger drops the debug line. That was several percent of the event loop under load
  (docs/benchmarks.md). With autobahn's debug logging on, nothing changes.
- the event loop under Twisted is uvloop (ECHO_EVENT_LOOP=asyncio for asyncio's own): the same
  load cost 3-11% less CPU per delivery (docs/benchmarks.md);
- a client frame under 512 bytes is unmasked in Python instead of by autobahn's cffi masker,
  which costs more to create than the XOR itself (about 4% of the event loop under load);
- a write to a TCP connection with nothing buffered goes to the socket at once, as asyncio's
  transports do. Twisted buffers every write and sends it on the next turn of the reactor:
  per frame, two epoll_ctl calls (start and stop watching for writability), one more wake-up
  and Twisted's logging context around it, about a fifth of the event loop's busy time under
  load (docs/benchmarks.md). What the socket does not take at once is buffered as before.
- every status code has its standard reason phrase on the status line: Twisted's table lacks
  some (429 went out as "429 Unknown Status"); the missing ones come from http.HTTPStatus.
- each websocket's outgoing buffer is bounded (LIVE_SEND_BUFFER_BYTES / LIVE_SEND_BUFFER_FRAMES):
  a client that reads slower than it is sent to is closed with 4008 ("too slow, resume with
  after_seq") instead of the server holding whatever is sent to it until the ping timeout.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from collections import deque
from dataclasses import dataclass
from typing import Any

EVENT_LOOPS = ("uvloop", "asyncio")


def use_event_loop(name: str) -> None:
    """Run daphne's Twisted reactor on uvloop (ECHO_EVENT_LOOP=uvloop, the default) or on
    asyncio's own selector loop (=asyncio). Must run before daphne.server is imported: that
    import creates the loop and installs the reactor on it."""
    if name not in EVENT_LOOPS:
        raise SystemExit(f"ECHO_EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, not {name!r}")
    if name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


if __name__ == "__main__":  # the server process, not a test importing the patches below
    use_event_loop(os.environ.get("ECHO_EVENT_LOOP", "uvloop"))

from daphne import server as daphne_server  # noqa: E402 - after the loop policy, see above
from daphne.cli import CommandLineInterface  # noqa: E402
from daphne.ws_protocol import WebSocketProtocol  # noqa: E402

logger = logging.getLogger("echo_site.serve")

CLOSE_TOO_SLOW = 4008
TOO_SLOW_REASON = "too slow, resume with after_seq"


@dataclass(frozen=True)
class SendLimit:
    max_bytes: int
    max_frames: int
    close_grace_seconds: float


@functools.cache
def send_limit() -> SendLimit:
    """The limits from the settings, read at the first send (Django is set up by then)."""
    from django.conf import settings

    return SendLimit(
        max_bytes=settings.LIVE_SEND_BUFFER_BYTES,
        max_frames=settings.LIVE_SEND_BUFFER_FRAMES,
        close_grace_seconds=settings.LIVE_SEND_CLOSE_GRACE_SECONDS,
    )


def buffered_bytes(transport: Any) -> int:
    """Bytes a Twisted TCP transport holds in user space because the socket did not take them:
    its write buffer from `offset` on and the writes queued behind it, the same figures
    Twisted's producer flow control uses (`FileDescriptor._isSendBufferFull`). Twisted has no
    public accessor for them (asyncio's `get_write_buffer_size`); read in Twisted 24-26."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


def check_transport_buffer_accounting() -> None:
    """Stop at start-up if Twisted no longer keeps its write buffer where `buffered_bytes`
    reads it, rather than serve with an outgoing limit that does not hold."""
    from twisted.internet import abstract
    from twisted.internet.testing import MemoryReactor

    probe = abstract.FileDescriptor(reactor=MemoryReactor())  # type: ignore[arg-type]
    probe.connected = 1
    probe.write(b"12345")
    try:
        measured = buffered_bytes(probe)
    except AttributeError as exc:
        raise SystemExit(f"echo_site.serve: Twisted's write buffer moved ({exc})") from exc
    if measured != 5:
        raise SystemExit(f"echo_site.serve: Twisted's write buffer reads {measured}, not 5")


class BoundedSendProtocol(WebSocketProtocol):  # type: ignore[misc]
    """daphne's websocket protocol with a bounded outgoing buffer.

    A client that stops reading (or reads slower than it is sent to) fills the kernel's socket
    buffers and then Twisted's, which grows without limit: daphne's ping timeout cut such a
    client only about 50 s later. Here every frame sent is followed by a look at what the
    transport holds; over LIVE_SEND_BUFFER_BYTES, or over LIVE_SEND_BUFFER_FRAMES frames, the
    socket is closed with 4008 and nothing more is sent to it. The close frame waits behind
    what is buffered: a client that reads again within LIVE_SEND_CLOSE_GRACE_SECONDS gets
    every frame sent before it and then the close; after that the TCP connection is dropped
    (autobahn's close handshake timeout) and the buffer with it. Either way the client resumes
    with `?after_seq=<last seq it saw>`, gap-free (docs/websocket-protocol.md).
    """

    too_slow = False
    # Sizes of the frames (oldest first) that are still, wholly or in part, in the transport's
    # buffer, and their sum; None while nothing is buffered (the usual case).
    send_sizes: deque[int] | None = None
    send_sizes_total = 0

    def serverSend(self, content: Any, binary: bool = False) -> None:  # noqa: N802 - daphne's
        if self.too_slow:
            return  # closing with 4008: the client catches up from its last seq
        transport = self.transport
        before = buffered_bytes(transport)
        super().serverSend(content, binary)
        after = buffered_bytes(transport)
        if not after:
            self.send_sizes = None
            self.send_sizes_total = 0
            return
        frames = self.buffered_frames(added=after - before, buffered=after)
        limit = send_limit()
        if after > limit.max_bytes or frames > limit.max_frames:
            self.close_too_slow(after, frames, limit)

    def buffered_frames(self, *, added: int, buffered: int) -> int:
        """The frames that end in the last `buffered` bytes of the stream, this one included."""
        sizes = self.send_sizes
        if sizes is None:
            sizes = self.send_sizes = deque()
            self.send_sizes_total = 0
        if added > 0:
            sizes.append(added)
            self.send_sizes_total += added
        while sizes and self.send_sizes_total - sizes[0] >= buffered:
            self.send_sizes_total -= sizes.popleft()
        return len(sizes)

    def close_too_slow(self, buffered: int, frames: int, limit: SendLimit) -> None:
        self.too_slow = True
        self.send_sizes = None
        logger.warning(
            "websocket %s too slow: %d bytes in %d frames unsent; closing with %d",
            self.client_addr,
            buffered,
            frames,
            CLOSE_TOO_SLOW,
        )
        # autobahn drops the TCP connection (and the buffer) when this runs out.
        self.closeHandshakeTimeout = limit.close_grace_seconds
        self.sendClose(code=CLOSE_TOO_SLOW, reason=TOO_SLOW_REASON)


class ClosingWebSocketFactory(daphne_server.WebSocketFactory):  # type: ignore[misc]
    protocol = BoundedSendProtocol

    def setProtocolOptions(self, **options: Any) -> None:  # noqa: N802 - autobahn's name
        options.setdefault("failByDrop", False)
        super().setProtocolOptions(**options)


def _plain(value: Any, *args: Any, **kwargs: Any) -> str:
    return ""


def skip_unlogged_debug_formatting() -> None:
    import txaio
    from autobahn.twisted import websocket as twisted_websocket
    from autobahn.websocket import protocol

    level = txaio.get_global_log_level()  # type: ignore[attr-defined]
    if level in ("debug", "trace"):  # autobahn logs through txaio
        return
    for module in (twisted_websocket, protocol):
        module.hltype = _plain  # type: ignore[assignment,attr-defined,unused-ignore]
        module.hlval = _plain  # type: ignore[assignment,attr-defined,unused-ignore]
    protocol.pformat = _plain  # type: ignore[assignment,attr-defined,unused-ignore]


# Below this payload size XOR-unmasking a client frame in Python (one big-int XOR) is cheaper
# than autobahn's cffi masker, which allocates a C masker and two buffers per frame: 0.75 vs
# 3.9 microseconds at 100 bytes, even at ~1,000 bytes, 5x slower at 16 KiB (docs/benchmarks.md).
SMALL_FRAME_BYTES = 512


class SmallFrameMasker:
    """autobahn's masker interface (`pointer`, `reset`, `process`) for one small frame; a
    frame's payload may arrive in several pieces, so the mask continues where it stopped."""

    __slots__ = ("_mask", "_pointer")

    def __init__(self, mask: bytes) -> None:
        self._mask = bytes(mask)
        self._pointer = 0

    def pointer(self) -> int:
        return self._pointer

    def reset(self) -> None:
        self._pointer = 0

    def process(self, data: bytes) -> bytes:
        size = len(data)
        offset = self._pointer & 3
        mask = self._mask[offset:] + self._mask[:offset] if offset else self._mask
        key = (mask * (size // 4 + 1))[:size]
        self._pointer += size
        masked = int.from_bytes(data, "little") ^ int.from_bytes(key, "little")
        return masked.to_bytes(size, "little")


def python_masks_for_small_frames() -> None:
    from autobahn.websocket import protocol

    create_xor_masker = protocol.create_xor_masker

    def create(mask: bytes, length: int | None = None) -> Any:
        if length is not None and length < SMALL_FRAME_BYTES:
            return SmallFrameMasker(mask)
        return create_xor_masker(mask, length)

    protocol.create_xor_masker = create


def eager_tcp_writes() -> None:
    from twisted.internet import tcp

    buffered_write = tcp.Connection.write

    def write(self: Any, data: bytes) -> None:
        if (
            not data
            or self.dataBuffer
            or self._tempDataBuffer
            or self.TLS
            or not self.connected
            or self.disconnecting
            or self._writeDisconnected
            or not isinstance(data, bytes)
        ):
            buffered_write(self, data)
            return
        sent = self.writeSomeData(data)
        if isinstance(sent, BaseException):  # lost: the buffered path reports it as usual
            buffered_write(self, data)
        elif sent < len(data):
            buffered_write(self, data[sent:])

    tcp.Connection.write = write  # type: ignore[method-assign]


def standard_reason_phrases() -> None:
    """Fill the reason phrases Twisted does not know (429 Too Many Requests, ...) in place:
    daphne passes only the status code, and Twisted looks the phrase up in this table."""
    from http import HTTPStatus

    from twisted.web import http as twisted_http

    for code in HTTPStatus:
        twisted_http.RESPONSES.setdefault(code.value, code.phrase.encode("ascii"))


def main() -> None:
    loop = type(daphne_server.twisted_loop)
    print(f"echo_site.serve: event loop {loop.__module__}.{loop.__name__}", file=sys.stderr)
    check_transport_buffer_accounting()
    daphne_server.WebSocketFactory = ClosingWebSocketFactory
    skip_unlogged_debug_formatting()
    python_masks_for_small_frames()
    eager_tcp_writes()
    standard_reason_phrases()
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
