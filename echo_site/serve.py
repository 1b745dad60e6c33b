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
"""

from __future__ import annotations

import asyncio
import os
import sys
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


class ClosingWebSocketFactory(daphne_server.WebSocketFactory):  # type: ignore[misc]
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
    daphne_server.WebSocketFactory = ClosingWebSocketFactory
    skip_unlogged_debug_formatting()
    python_masks_for_small_frames()
    eager_tcp_writes()
    standard_reason_phrases()
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
