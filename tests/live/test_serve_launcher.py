"""echo_site.serve: autobahn's debug-log arguments are not built unless its debug log is on."""

from __future__ import annotations

import pytest
import txaio
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol

from echo_site import serve


@pytest.fixture
def restore_autobahn():
    saved = [
        (module, name, getattr(module, name))
        for module in (twisted_websocket, protocol)
        for name in ("hltype", "hlval")
    ] + [(protocol, "pformat", protocol.pformat)]
    level = txaio.get_global_log_level()
    yield
    for module, name, value in saved:
        setattr(module, name, value)
    txaio.set_global_log_level(level)


def test_debug_formatting_is_skipped_when_autobahn_does_not_log_debug(restore_autobahn):
    txaio.set_global_log_level("info")
    serve.skip_unlogged_debug_formatting()
    assert twisted_websocket.hltype(object) == ""
    assert protocol.hlval(123) == ""
    assert protocol.pformat({"a": 1}) == ""


def test_debug_formatting_stays_when_autobahn_logs_debug(restore_autobahn):
    txaio.set_global_log_level("debug")
    serve.skip_unlogged_debug_formatting()
    assert "123" in protocol.hlval(123)
    assert protocol.pformat({"a": 1}) == "{'a': 1}"
