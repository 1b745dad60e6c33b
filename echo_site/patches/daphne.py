"""Patches of daphne, written and tested for daphne 4.2.2-4.2.3 (reading Twisted 24.7-26.10's
write buffer and autobahn 26.x's close handshake).

- bounded_send_buffer (behaviour): each websocket's outgoing buffer is bounded
  (LIVE_SEND_BUFFER_BYTES / LIVE_SEND_BUFFER_FRAMES): a client that reads slower than it is sent
  to is closed with 4008 ("too slow, resume with after_seq") instead of the server holding
  whatever is sent to it until the ping timeout.
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from daphne.ws_protocol import WebSocketProtocol

from . import BEHAVIOUR, Patch, ShapeMismatch, require_callable
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
]
