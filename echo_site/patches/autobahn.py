"""Patches of autobahn (daphne's websocket implementation), written and tested for autobahn 26.x
up to 26.11.1 (and daphne 4.2.3, whose factory passes the option on).

- close_1009 (behaviour): a frame or message over the size limit is answered with a close frame
  carrying 1009 (message too big), where autobahn's default (`failByDrop=True`) drops the TCP
  connection and the client sees 1006. daphne does not pass autobahn's option through, so its
  websocket factory gets `failByDrop=False` as a default.

Two speed patches of autobahn were measured again in issue 16 and dropped (under 3% of CPU per
delivery, docs/benchmarks.md): skipping its debug-log formatting and a Python masker for small
client frames.
"""

from __future__ import annotations

import inspect
from typing import Any

from . import BEHAVIOUR, Patch, ShapeMismatch

AUTOBAHN = "autobahn"
TESTED = ">=26.1,<26.12"


# --- close_1009 -------------------------------------------------------------------------------


def check_close_1009() -> None:
    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from daphne import server as daphne_server

    options = inspect.signature(WebSocketServerFactory.setProtocolOptions).parameters
    if "failByDrop" not in options:
        raise ShapeMismatch("autobahn's setProtocolOptions has no failByDrop option")
    if "failByDrop" not in WebSocketServerProtocol.CONFIG_ATTRS:
        raise ShapeMismatch("autobahn's server protocol no longer reads failByDrop")
    factory = getattr(daphne_server, "WebSocketFactory", None)
    if not isinstance(factory, type) or not issubclass(factory, WebSocketServerFactory):
        raise ShapeMismatch("daphne.server.WebSocketFactory is not autobahn's server factory")


def apply_close_1009() -> bool:
    from daphne import server as daphne_server

    base = daphne_server.WebSocketFactory
    if getattr(base, "echo_close_1009", False):
        return True

    class CloseOnOversizeFactory(base):  # type: ignore[misc,valid-type]
        echo_close_1009 = True

        def setProtocolOptions(self, **options: Any) -> None:  # noqa: N802 - autobahn's name
            options.setdefault("failByDrop", False)
            super().setProtocolOptions(**options)

    daphne_server.WebSocketFactory = CloseOnOversizeFactory
    return True


PATCHES = [
    Patch(
        name="close_1009",
        library=AUTOBAHN,
        tested=TESTED,
        kind=BEHAVIOUR,
        check=check_close_1009,
        apply=apply_close_1009,
        also_tested={"daphne": ">=4.2.2,<4.3"},
    ),
]
