"""The run-time patches are guarded (echo_site/patches/, issue 16): the real server names the
active ones and behaves as they promise; a patch whose library is outside its tested range, or
whose target changed shape, is skipped with one warning (speed) or stops start-up (behaviour)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from daphne import http_protocol
from daphne import server as daphne_server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import tcp
from twisted.web import http as twisted_http

from echo_site import patches
from echo_site.patches import daphne as daphne_patches
from tests.chat.conftest import bearer

from .conftest import next_frame, ws_connect
from .servers import ROOT
from .test_websocket_abuse import close_code

ALL_NAMES = [p.name for p in patches.all_patches()]


def by_name(*names: str) -> list[patches.Patch]:
    return [p for p in patches.all_patches() if p.name in names]


def active_line(log: str) -> str:
    lines = [line for line in log.splitlines() if "active patches: " in line]
    assert len(lines) == 1, log
    return lines[0]


@pytest.fixture(autouse=True)
def restore_targets(monkeypatch):
    """Whatever a test applies is undone: every attribute the patches replace is put back."""
    monkeypatch.setattr(tcp.Connection, "write", tcp.Connection.write)
    monkeypatch.setattr(daphne_server, "WebSocketFactory", daphne_server.WebSocketFactory)
    monkeypatch.setattr(http_protocol, "WebRequest", http_protocol.WebRequest)
    monkeypatch.setattr(
        daphne_patches.BoundedSendProtocol,
        "release_on_close",
        daphne_patches.BoundedSendProtocol.release_on_close,
    )
    monkeypatch.setattr(twisted_http, "RESPONSES", dict(twisted_http.RESPONSES))
    monkeypatch.delenv(patches.OFF_ENV, raising=False)


def versions(monkeypatch, **fake: str) -> None:
    """Pretend these distributions are installed at these versions."""
    real = patches.installed_version
    monkeypatch.setattr(
        patches, "installed_version", lambda library: fake.get(library, real(library))
    )


# --- The real server ------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_server_names_every_active_patch_and_closes_an_oversized_frame_1009(
    start_daphne, buyer, order
):
    # Started without --websocket-max-*-size: the 64 KiB limit comes from the settings.
    server = start_daphne()
    ws = await ws_connect(f"{server.ws}/ws/orders/{order.pk}/", token=bearer(buyer), max_size=None)
    await next_frame(ws, "hello")
    await ws.send(json.dumps({"type": "message.send", "content": "x" * 70_000, "client_id": "b"}))
    assert await close_code(ws) == 1009

    line = active_line(server.log_path.read_text())
    names = line.split("active patches: ", 1)[1].split(";", 1)[0].split(", ")
    assert names == ALL_NAMES
    assert "loop=uvloop" in line


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_speed_patch_switched_off_is_not_applied_and_the_line_says_so(start_daphne):
    server = start_daphne(ECHO_PATCHES_OFF="eager_tcp_writes", ECHO_EVENT_LOOP="asyncio")
    line = active_line(server.log_path.read_text())
    assert "eager_tcp_writes" not in line.split(";")[0]
    assert "bounded_send_buffer" in line
    assert "loop=asyncio" in line
    assert "switched off by ECHO_PATCHES_OFF: eager_tcp_writes" in line


def test_a_behaviour_patch_out_of_range_stops_the_real_start_up():
    """The launcher itself, with the version lookup answering as a newer daphne would."""
    code = (
        "import runpy, sys; import echo_site.patches as p; real = p.installed_version; "
        "p.installed_version = lambda lib: '5.0' if lib == 'daphne' else real(lib); "
        "sys.argv = ['serve', '-p', '1', 'echo_site.asgi:application']; "
        "runpy.run_module('echo_site.serve', run_name='__main__')"
    )
    env = {"DJANGO_SETTINGS_MODULE": "echo_site.settings", "DEBUG": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode != 0
    assert "bounded_send_buffer (daphne): daphne 5.0 is outside the tested range" in out.stderr
    assert ">=4.2.2,<4.3" in out.stderr
    assert "active patches" not in out.stderr


# --- Versions -------------------------------------------------------------------------------


def test_all_patches_fit_the_installed_libraries():
    assert {p.name: patches.mismatch(p) for p in patches.all_patches()} == dict.fromkeys(ALL_NAMES)


def test_a_speed_patch_out_of_range_is_skipped_with_one_warning_and_twisted_left_alone(
    monkeypatch, caplog
):
    versions(monkeypatch, Twisted="27.1.0")
    original = tcp.Connection.write
    with caplog.at_level(logging.WARNING, logger="echo_site.patches"):
        active = patches.apply_all(by_name("eager_tcp_writes", "close_1009"))
    assert active == ["close_1009"]
    assert tcp.Connection.write is original
    warnings = [r.getMessage() for r in caplog.records if r.name == "echo_site.patches"]
    assert warnings == [
        "speed patch eager_tcp_writes skipped, upstream code runs: "
        "Twisted 27.1.0 is outside the tested range >=24.7,<26.11"
    ]


def test_a_speed_patch_whose_library_is_missing_is_skipped(monkeypatch, caplog):
    versions(monkeypatch, Twisted=None)  # type: ignore[arg-type]
    original = tcp.Connection.write
    with caplog.at_level(logging.WARNING, logger="echo_site.patches"):
        assert patches.apply_all(by_name("eager_tcp_writes")) == []
    assert tcp.Connection.write is original
    assert "Twisted is not installed" in caplog.text


@pytest.mark.parametrize(
    ("library", "version", "patch"),
    [
        ("daphne", "4.3.0", "bounded_send_buffer"),
        ("autobahn", "27.0.0", "close_1009"),
        ("Twisted", "24.3.0", "standard_reason_phrases"),
    ],
)
def test_a_behaviour_patch_out_of_range_stops_start_up_and_nothing_is_patched(
    monkeypatch, library, version, patch
):
    versions(monkeypatch, **{library: version})
    write, factory = tcp.Connection.write, daphne_server.WebSocketFactory
    with pytest.raises(SystemExit) as stopped:
        patches.apply_all()
    message = str(stopped.value)
    assert "refusing to start" in message
    assert f"- {patch} (" in message
    assert f"{library} {version} is outside the tested range" in message
    assert tcp.Connection.write is write  # the speed patches checked first were not applied
    assert daphne_server.WebSocketFactory is factory


# --- Shapes ---------------------------------------------------------------------------------


def test_a_speed_patch_whose_target_changed_signature_is_skipped(monkeypatch, caplog):
    def write(self, data, *, flush=False):  # what a future Twisted might have
        pass

    monkeypatch.setattr(tcp.Connection, "write", write)
    with caplog.at_level(logging.WARNING, logger="echo_site.patches"):
        assert patches.apply_all(by_name("eager_tcp_writes")) == []
    assert tcp.Connection.write is write
    warnings = [r.getMessage() for r in caplog.records if r.name == "echo_site.patches"]
    assert len(warnings) == 1
    assert "Connection.write takes (self, data, flush), expected (self, bytes)" in warnings[0]


def test_a_speed_patch_whose_target_is_gone_is_skipped(monkeypatch, caplog):
    from twisted.internet import abstract

    # A Twisted that no longer marks a half-closed connection where the patch looks for it.
    monkeypatch.delattr(abstract.FileDescriptor, "_writeDisconnected")
    original = tcp.Connection.write
    with caplog.at_level(logging.WARNING, logger="echo_site.patches"):
        assert patches.apply_all(by_name("eager_tcp_writes")) == []
    assert tcp.Connection.write is original
    assert "Connection has no _writeDisconnected" in caplog.text


def test_a_behaviour_patch_whose_target_changed_stops_start_up(monkeypatch):
    def server_send(self, content, binary=False, *, compress=True):
        pass

    monkeypatch.setattr(WebSocketProtocol, "serverSend", server_send)
    factory = daphne_server.WebSocketFactory
    with pytest.raises(SystemExit, match=r"bounded_send_buffer \(daphne\): .*serverSend takes"):
        patches.apply_all()
    assert daphne_server.WebSocketFactory is factory


def test_the_1009_patch_refuses_an_autobahn_without_fail_by_drop(monkeypatch):
    from autobahn.twisted.websocket import WebSocketServerProtocol

    monkeypatch.setattr(
        WebSocketServerProtocol,
        "CONFIG_ATTRS",
        [a for a in WebSocketServerProtocol.CONFIG_ATTRS if a != "failByDrop"],
    )
    with pytest.raises(SystemExit, match="close_1009 .*no longer reads failByDrop"):
        patches.apply_all()


# --- Switching speed patches off (the bench) ------------------------------------------------


def test_a_speed_patch_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(patches.OFF_ENV, "eager_tcp_writes")
    original = tcp.Connection.write
    active = patches.apply_all()
    assert "eager_tcp_writes" not in active
    assert tcp.Connection.write is original
    assert "standard_reason_phrases" in active


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("eager_tcp_write", "names no such patch: eager_tcp_write"),
        ("close_1009", "close_1009 changes what clients see and cannot be switched off"),
    ],
)
def test_switching_off_an_unknown_or_behaviour_patch_stops_start_up(monkeypatch, value, message):
    monkeypatch.setenv(patches.OFF_ENV, value)
    with pytest.raises(SystemExit, match=message):
        patches.apply_all()
