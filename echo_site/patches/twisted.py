"""Patches of Twisted, written against Twisted 24.7-26.10 and tested (here, in CI) on 26.10.0.

- eager_tcp_writes (speed): a write to a TCP connection with nothing buffered goes to the socket
  at once, as asyncio's transports do. Twisted buffers every write and sends it on the next turn
  of the reactor: per frame, two epoll_ctl calls (start and stop watching for writability), one
  more wake-up and Twisted's logging context around it (docs/benchmarks.md). What the socket
  does not take at once is buffered as before.
- standard_reason_phrases (behaviour): every status code has its standard reason phrase on the
  status line. Twisted's table lacks some (429 went out as "429 Unknown Status"); the missing
  ones come from http.HTTPStatus.

Also here: `buffered_bytes`, the read of a transport's write buffer the daphne patch's bounded
send buffer needs (Twisted has no public accessor for it), and its start-up check.
"""

from __future__ import annotations

import functools
from typing import Any

from . import BEHAVIOUR, SPEED, Patch, ShapeMismatch, require_attributes, require_callable

TWISTED = "Twisted"
TESTED = ">=24.7,<26.11"


# --- Write buffer accounting (used by echo_site.patches.daphne) ---------------------------------


def buffered_bytes(transport: Any) -> int:
    """Bytes a Twisted TCP transport holds in user space because the socket did not take them:
    its write buffer from `offset` on and the writes queued behind it, the same figures
    Twisted's producer flow control uses (`FileDescriptor._isSendBufferFull`). Twisted has no
    public accessor for them (asyncio's `get_write_buffer_size`)."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


def check_transport_buffer_accounting() -> None:
    """Twisted still keeps its write buffer where `buffered_bytes` reads it."""
    from twisted.internet import abstract
    from twisted.internet.testing import MemoryReactor

    probe = abstract.FileDescriptor(reactor=MemoryReactor())  # type: ignore[arg-type]
    probe.connected = 1
    probe.write(b"12345")
    try:
        measured = buffered_bytes(probe)
    except AttributeError as exc:
        raise ShapeMismatch(f"Twisted's write buffer moved ({exc})") from exc
    if measured != 5:
        raise ShapeMismatch(f"Twisted's write buffer reads {measured} bytes after 5 were written")


# --- eager_tcp_writes -------------------------------------------------------------------------


def check_eager_tcp_writes() -> None:
    from twisted.internet import tcp
    from twisted.internet.testing import MemoryReactor

    require_callable(tcp.Connection, "write", ["self", "bytes"])
    require_callable(tcp.Connection, "writeSomeData", ["self", "data"])
    require_attributes(tcp.Connection, "TLS", "connected", "disconnecting", "_writeDisconnected")
    probe = tcp.Connection.__new__(tcp.Connection)
    from twisted.internet import abstract

    abstract.FileDescriptor.__init__(probe, reactor=MemoryReactor())  # type: ignore[arg-type]
    require_attributes(probe, "dataBuffer", "_tempDataBuffer")


def apply_eager_tcp_writes() -> bool:
    from twisted.internet import tcp

    buffered_write = tcp.Connection.write
    if getattr(buffered_write, "echo_patch", False):
        return True  # applied already (a test applying twice)

    @functools.wraps(buffered_write)
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

    write.echo_patch = True  # type: ignore[attr-defined]
    tcp.Connection.write = write  # type: ignore[method-assign]
    return True


# --- standard_reason_phrases ------------------------------------------------------------------


def check_standard_reason_phrases() -> None:
    from twisted.web import http as twisted_http

    responses = getattr(twisted_http, "RESPONSES", None)
    if not isinstance(responses, dict) or not isinstance(responses.get(404), bytes):
        raise ShapeMismatch("twisted.web.http.RESPONSES is no longer a dict of bytes phrases")
    # Request looks the phrase up in RESPONSES when only the code is given (daphne's case).
    require_callable(twisted_http.Request, "setResponseCode", ["self", "code", "message"])


def apply_standard_reason_phrases() -> bool:
    """Fill the phrases Twisted does not know (429 Too Many Requests, ...) in place."""
    from http import HTTPStatus

    from twisted.web import http as twisted_http

    for code in HTTPStatus:
        twisted_http.RESPONSES.setdefault(code.value, code.phrase.encode("ascii"))
    return True


PATCHES = [
    Patch(
        name="eager_tcp_writes",
        library=TWISTED,
        tested=TESTED,
        kind=SPEED,
        check=check_eager_tcp_writes,
        apply=apply_eager_tcp_writes,
    ),
    Patch(
        name="standard_reason_phrases",
        library=TWISTED,
        tested=TESTED,
        kind=BEHAVIOUR,
        check=check_standard_reason_phrases,
        apply=apply_standard_reason_phrases,
    ),
]
