"""Patches of daphne, written and tested for daphne 4.2.2-4.2.3 (reading Twisted 24.7-26.10's
write buffer and autobahn 26.x's close handshake).

- bounded_send_buffer (behaviour): each websocket's outgoing buffer is bounded
  (LIVE_SEND_BUFFER_BYTES / LIVE_SEND_BUFFER_FRAMES): a client that reads slower than it is sent
  to is closed with 4008 ("too slow, resume with after_seq") instead of the server holding
  whatever is sent to it until the ping timeout.
- free_closed_sockets (speed): a websocket's objects are freed by their reference counts when it
  closes or is cut, instead of waiting for a full cyclic collection. Two reference cycles held
  each one: the HTTP request that did the upgrade and its HTTP channel (the channel lists the
  request, the request names the channel; neither is used after the hand-over), and autobahn's
  `is_closed` Deferred, resolved with the protocol it hangs on. Between them they kept the
  protocol, the transport, the request and their buffers (~50 objects, ~2 KB of RSS a socket):
  under churn (800 sockets a round) the server's RSS grew 6-12% over six rounds (issue 24).
  Clients see no difference.
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from daphne.http_protocol import WebRequest
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet.defer import succeed
from twisted.internet.protocol import connectionDone

from . import BEHAVIOUR, SPEED, Patch, ShapeMismatch, require_callable
from . import twisted as twisted_patches
from .autobahn import TESTED as AUTOBAHN_TESTED
from .twisted import buffered_bytes

logger = logging.getLogger("echo_site.serve")

DAPHNE_TESTED = ">=4.2.2,<4.3"
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
    # free_closed_sockets: drop the is_closed cycle when the connection goes.
    release_on_close = False
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

    def connectionLost(self, reason: Any = connectionDone) -> None:  # noqa: N802 - Twisted's
        super().connectionLost(reason)
        if self.release_on_close:
            # autobahn resolved is_closed with this protocol (a Deferred whose result is the
            # object that holds it) and ran its callbacks: what is left of it is the cycle.
            closed = getattr(self, "is_closed", None)
            if closed is not None and closed.called:
                self.is_closed = succeed(None)

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


class UpgradeReleasingRequest(WebRequest):  # type: ignore[misc]
    """daphne's HTTP request, which lets go of its HTTP channel once it has handed the
    connection to a websocket protocol (free_closed_sockets). The channel keeps the request in
    its list of requests and the request names the channel: after the hand-over nothing uses
    either, and the pair (with everything they hold) waited for a full cyclic collection."""

    def process(self) -> None:
        super().process()
        channel: Any = getattr(self, "channel", None)
        if self.transport is None and channel is not None:  # handed over: daphne's upgrade
            if self in channel.requests:
                channel.requests.remove(self)
            self.channel = None


def check_bounded_send_buffer() -> None:
    from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
    from daphne import server as daphne_server

    require_callable(WebSocketProtocol, "serverSend", ["self", "content", "binary"])
    require_callable(WebSocketProtocol, "sendClose", ["self", "code", "reason"])
    if "closeHandshakeTimeout" not in AutobahnProtocol.CONFIG_ATTRS_COMMON:
        raise ShapeMismatch("autobahn's protocol no longer has closeHandshakeTimeout")
    factory = getattr(daphne_server, "WebSocketFactory", None)
    protocol = getattr(factory, "protocol", None)
    if protocol is not WebSocketProtocol and not (
        isinstance(protocol, type) and issubclass(protocol, BoundedSendProtocol)
    ):
        # Someone else replaced daphne's protocol: ours would drop their change.
        raise ShapeMismatch("daphne.server.WebSocketFactory.protocol is not daphne's protocol")
    twisted_patches.check_transport_buffer_accounting()


def apply_bounded_send_buffer() -> bool:
    from daphne import server as daphne_server

    factory = daphne_server.WebSocketFactory
    if issubclass(factory.protocol, BoundedSendProtocol):
        return True  # applied already

    class BoundedSendFactory(factory):  # type: ignore[misc,valid-type]
        protocol = BoundedSendProtocol

    daphne_server.WebSocketFactory = BoundedSendFactory
    return True


def check_free_closed_sockets() -> None:
    import inspect

    from autobahn.websocket.protocol import WebSocketProtocol as AutobahnProtocol
    from daphne import http_protocol
    from twisted.internet.defer import Deferred
    from twisted.web import http as twisted_http

    require_callable(http_protocol.WebRequest, "process", ["self"])
    build = inspect.getsource(http_protocol.HTTPFactory.buildProtocol)
    if "requestFactory = WebRequest" not in build:
        raise ShapeMismatch("daphne's HTTPFactory no longer takes its requests from WebRequest")
    upgrade = inspect.getsource(http_protocol.WebRequest.process)
    if "transport, self.transport = self.transport, None" not in upgrade:
        raise ShapeMismatch("daphne's websocket upgrade no longer hands the transport over")
    if not isinstance(getattr(twisted_http.HTTPChannel(), "requests", None), list):
        raise ShapeMismatch("Twisted's HTTPChannel no longer keeps a list of its requests")
    require_callable(AutobahnProtocol, "_connectionLost", ["self", "reason"])
    if "txaio.resolve(self.is_closed, self)" not in inspect.getsource(AutobahnProtocol):
        raise ShapeMismatch("autobahn no longer resolves is_closed with the protocol")
    if not isinstance(getattr(Deferred(), "called", None), bool):
        raise ShapeMismatch("Twisted's Deferred has no `called`")


def apply_free_closed_sockets() -> bool:
    from daphne import http_protocol

    BoundedSendProtocol.release_on_close = True
    http_protocol.WebRequest = UpgradeReleasingRequest
    return True


PATCHES = [
    Patch(
        name="bounded_send_buffer",
        library="daphne",
        tested=DAPHNE_TESTED,
        kind=BEHAVIOUR,
        check=check_bounded_send_buffer,
        apply=apply_bounded_send_buffer,
        also_tested={"Twisted": twisted_patches.TESTED, "autobahn": AUTOBAHN_TESTED},
    ),
    Patch(
        name="free_closed_sockets",
        library="daphne",
        tested=DAPHNE_TESTED,
        kind=SPEED,
        check=check_free_closed_sockets,
        apply=apply_free_closed_sockets,
        also_tested={"Twisted": twisted_patches.TESTED, "autobahn": AUTOBAHN_TESTED},
    ),
]
