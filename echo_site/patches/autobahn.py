"""Patches of autobahn (daphne's websocket implementation), written and tested for autobahn 26.x
up to 26.11.1 (txaio 26.6, daphne 4.2.3 where noted).

- close_1009 (behaviour): a frame or message over the size limit is answered with a close frame
  carrying 1009 (message too big), where autobahn's default (`failByDrop=True`) drops the TCP
  connection and the client sees 1006. daphne does not pass autobahn's option through, so its
  websocket factory gets `failByDrop=False` as a default.
- skip_debug_formatting (speed): autobahn builds its debug-log arguments even when nobody logs
  them: `hltype(...)`/`hlval(...)` (terminal colours through click, when click is installed) for
  every chunk received and every frame sent, and `pformat` of its settings on every connect,
  before the logger drops the line (docs/benchmarks.md). With autobahn's debug log on (txaio's
  level debug or trace) nothing is changed.
- small_frame_masker (speed): a client frame under 512 bytes is unmasked in Python instead of by
  autobahn's cffi masker, which costs more to create than the XOR itself.
"""

from __future__ import annotations

import inspect
from typing import Any

from . import BEHAVIOUR, SPEED, Patch, ShapeMismatch, require_attributes, require_callable

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


# --- skip_debug_formatting --------------------------------------------------------------------


def check_skip_debug_formatting() -> None:
    import txaio
    from autobahn.twisted import websocket as twisted_websocket
    from autobahn.websocket import protocol

    require_callable(txaio, "get_global_log_level", [])
    for module in (twisted_websocket, protocol):
        require_attributes(module, "hltype", "hlval")
    require_attributes(protocol, "pformat")


def _plain(value: Any, *args: Any, **kwargs: Any) -> str:
    return ""


def apply_skip_debug_formatting() -> bool:
    import txaio
    from autobahn.twisted import websocket as twisted_websocket
    from autobahn.websocket import protocol

    if txaio.get_global_log_level() in ("debug", "trace"):  # type: ignore[attr-defined]
        return False  # autobahn's debug lines are logged: keep their arguments
    for module in (twisted_websocket, protocol):
        module.hltype = _plain  # type: ignore[assignment,attr-defined,unused-ignore]
        module.hlval = _plain  # type: ignore[assignment,attr-defined,unused-ignore]
    protocol.pformat = _plain  # type: ignore[assignment,attr-defined,unused-ignore]
    return True


# --- small_frame_masker -----------------------------------------------------------------------

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


def check_small_frame_masker() -> None:
    from autobahn.websocket import protocol

    require_callable(protocol, "create_xor_masker", ["mask", "length"])
    masker = protocol.create_xor_masker(b"abcd", 1024)
    require_attributes(masker, "pointer", "reset", "process")


def apply_small_frame_masker() -> bool:
    from autobahn.websocket import protocol

    create_xor_masker = protocol.create_xor_masker
    if getattr(create_xor_masker, "echo_patch", False):
        return True

    def create(mask: bytes, length: int | None = None) -> Any:
        if length is not None and length < SMALL_FRAME_BYTES:
            return SmallFrameMasker(mask)
        return create_xor_masker(mask, length)

    create.echo_patch = True  # type: ignore[attr-defined]
    protocol.create_xor_masker = create
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
    Patch(
        name="skip_debug_formatting",
        library=AUTOBAHN,
        tested=TESTED,
        kind=SPEED,
        check=check_skip_debug_formatting,
        apply=apply_skip_debug_formatting,
        also_tested={"txaio": ">=25.9,<26.7"},
    ),
    Patch(
        name="small_frame_masker",
        library=AUTOBAHN,
        tested=TESTED,
        kind=SPEED,
        check=check_small_frame_masker,
        apply=apply_small_frame_masker,
    ),
]
