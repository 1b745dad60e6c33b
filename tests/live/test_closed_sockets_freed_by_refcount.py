"""A dropped websocket is freed by its reference count, not left to the cyclic collector (issue
24, the churn scenario): through daphne's HTTP channel, the upgrade and the websocket protocol as
the server runs them (echo_site/patches/daphne.py, free_closed_sockets), over an in-memory
transport. A reference cycle anywhere in that graph kept each socket's protocol, transport,
request and buffers until the next full collection: under churn, thousands of them at a time,
and RSS that kept growing."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from daphne import http_protocol
from daphne import server as daphne_server
from daphne.http_protocol import HTTPFactory
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from echo_site.patches import daphne as daphne_patches

HANDSHAKE = (
    b"GET /ws/orders/1/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


class TCPLikeTransport(StringTransport):
    """An in-memory transport that goes the way Twisted's TCP transport goes
    (twisted.internet.tcp.Connection.connectionLost): it stops and forgets its producer, forgets
    its protocol, then tells the protocol."""

    def lose(self, reason: Exception) -> None:
        if self.producer is not None:
            self.producer.stopProducing()
            self.producer = None
        protocol = self.protocol
        del self.protocol
        protocol.connectionLost(Failure(reason))


class Queue:
    def put_nowait(self, message: dict[str, Any]) -> None:
        pass


class FakeServer:
    """What daphne's protocols ask of daphne.server.Server; a connection is forgotten when it
    disconnects (the real server forgets it once its application instance has finished)."""

    root_path = ""
    proxy_forwarded_address_header = None

    def __init__(self) -> None:
        self.connections: dict[Any, dict[str, Any]] = {}
        self.seen: list[weakref.ref[Any]] = []  # the HTTP request, then the websocket protocol
        self.ws_factory = daphne_server.WebSocketFactory(self, server="Daphne")

    def protocol_connected(self, protocol: Any) -> None:
        self.connections[protocol] = {}
        self.seen.append(weakref.ref(protocol))

    def protocol_disconnected(self, protocol: Any) -> None:
        self.connections.pop(protocol, None)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Queue:
        return Queue()

    def log_action(self, *args: Any) -> None:
        pass


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(daphne_server, "WebSocketFactory", daphne_server.WebSocketFactory)
    monkeypatch.setattr(http_protocol, "WebRequest", http_protocol.WebRequest)
    monkeypatch.setattr(daphne_patches.BoundedSendProtocol, "release_on_close", False)
    daphne_patches.apply_bounded_send_buffer()
    daphne_patches.check_free_closed_sockets()
    daphne_patches.apply_free_closed_sockets()
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # only reference counting frees anything from here on
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def open_socket(server: FakeServer) -> tuple[Any, TCPLikeTransport]:
    """A websocket handshake through daphne's HTTP channel, accepted by the application."""
    peer = IPv4Address("TCP", "127.0.0.1", 50000)
    channel = HTTPFactory(server).buildProtocol(peer)
    transport = TCPLikeTransport(peerAddress=peer, hostAddress=IPv4Address("TCP", "127.0.0.1", 80))
    channel.makeConnection(transport)
    channel.dataReceived(HANDSHAKE)
    protocol = transport.protocol
    assert isinstance(protocol, daphne_patches.BoundedSendProtocol)
    protocol.handle_reply({"type": "websocket.accept"})
    assert transport.value().startswith(b"HTTP/1.1 101"), transport.value()
    return channel, transport


@pytest.mark.parametrize("reason", [ConnectionDone, ConnectionLost], ids=["closed", "cut"])
def test_a_dropped_websocket_leaves_nothing_for_the_cyclic_collector(
    patched: None, reason: type[Exception]
) -> None:
    server = FakeServer()
    channel, transport = open_socket(server)
    protocol = transport.protocol
    request, websocket = server.seen  # the request may be gone already: the upgrade is done
    assert websocket() is protocol
    refs = {
        "http channel": weakref.ref(channel._channel),
        "upgraded request": request,
        "websocket protocol": websocket,
        "transport": weakref.ref(transport),
    }
    transport.lose(reason())
    assert server.connections == {}
    del channel, transport, protocol

    alive = [name for name, ref in refs.items() if ref() is not None]
    assert alive == []
