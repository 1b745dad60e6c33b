"""`python -m echo_site.serve [daphne options] echo_site.asgi:application` — daphne, as in the
Procfile, with two changes:
- a frame over the size limit is answered with a close frame carrying 1009 (message too big),
  where autobahn's default drops the TCP connection (the client sees 1006);
- autobahn's debug-log arguments are no longer built when nobody logs them: it evaluates
  `hltype(...)`/`hlval(...)` (terminal colours through click, when click is installed) for every
  chunk received and every frame sent, and `pformat` of its settings on every connect, before
  the logger drops the debug line. That was several percent of the event loop under load
  (docs/benchmarks.md). With autobahn's debug logging on, nothing changes.
- a write to a TCP connection with nothing buffered goes to the socket at once, as asyncio's
  transports do. Twisted buffers every write and sends it on the next turn of the reactor:
  per frame, two epoll_ctl calls (start and stop watching for writability), one more wake-up
  and Twisted's logging context around it, about a fifth of the event loop's busy time under
  load (docs/benchmarks.md). What the socket does not take at once is buffered as before.
"""

from __future__ import annotations

from typing import Any

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface


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


def main() -> None:
    daphne_server.WebSocketFactory = ClosingWebSocketFactory
    skip_unlogged_debug_formatting()
    eager_tcp_writes()
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
