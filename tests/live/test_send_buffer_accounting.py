"""The bounded send buffer's accounting (echo_site/patches/), without a server: what it reads
from a Twisted transport and how it counts the frames in it. The limit itself, over real
sockets, is tested in tests/live/test_slow_consumer.py."""

from __future__ import annotations

from typing import Any

from twisted.internet import abstract
from twisted.internet.testing import MemoryReactor

from echo_site.patches import daphne as daphne_patches
from echo_site.patches import twisted as twisted_patches


def transport() -> Any:
    fd = abstract.FileDescriptor(reactor=MemoryReactor())
    fd.connected = 1
    return fd


def test_buffered_bytes_counts_what_the_socket_has_not_taken():
    fd = transport()
    fd.write(b"abc")
    fd.write(b"defg")
    assert twisted_patches.buffered_bytes(fd) == 7
    fd.writeSomeData = lambda data: 2  # the socket takes two bytes
    fd.doWrite()
    assert twisted_patches.buffered_bytes(fd) == 5
    fd.writeSomeData = lambda data: len(data)
    fd.doWrite()
    assert twisted_patches.buffered_bytes(fd) == 0


def test_the_start_up_check_passes_on_the_installed_twisted():
    twisted_patches.check_transport_buffer_accounting()  # raises ShapeMismatch if it moved


def test_frames_are_counted_while_any_of_their_bytes_are_buffered():
    protocol = daphne_patches.BoundedSendProtocol()
    # Three frames of 100 bytes each go into an empty buffer.
    assert protocol.buffered_frames(added=100, buffered=100) == 1
    assert protocol.buffered_frames(added=100, buffered=200) == 2
    assert protocol.buffered_frames(added=100, buffered=300) == 3
    # The socket took the first frame and half the second; a fourth frame is written.
    assert protocol.buffered_frames(added=100, buffered=250) == 3
    # Only the last 40 bytes of the fourth frame remain, and a small fifth frame is added.
    assert protocol.buffered_frames(added=10, buffered=50) == 2
