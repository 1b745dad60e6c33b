from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from chat import presence
from echo_site import realtime
from echo_site.asgi import application

ORIGIN = b"http://127.0.0.1:8000"


def bearer(user: Any, lifetime: timedelta | None = None) -> str:
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


def communicator(
    path: str,
    *,
    user: Any = None,
    token: str | None = None,
    origin: bytes | None = None,
    cookie: str | None = None,
) -> WebsocketCommunicator:
    headers: list[tuple[bytes, bytes]] = []
    if user is not None or token is not None:
        headers.append((b"authorization", f"Bearer {token or bearer(user)}".encode()))
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def connect(path: str, **kwargs: Any) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    """Connect and read the hello frame."""
    comm = communicator(path, **kwargs)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    hello = await comm.receive_json_from(timeout=5)
    assert hello["type"] == "hello", hello
    return comm, hello


async def receive_until(
    comm: WebsocketCommunicator, frame_type: str, timeout: float = 5
) -> dict[str, Any]:
    """The next frame of `frame_type`, skipping presence and typing chatter."""
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if frame["type"] == frame_type:
            return frame
        if frame["type"] not in {"presence", "typing", "read"}:
            raise AssertionError(f"expected {frame_type}, got {json.dumps(frame)}")


async def drain(comm: WebsocketCommunicator, timeout: float = 0.3) -> list[dict[str, Any]]:
    frames = []
    while not await comm.receive_nothing(timeout=timeout):
        frames.append(await comm.receive_json_from())
    return frames


@pytest.fixture(autouse=True)
def _fresh_live_state() -> Any:
    presence.reset_store()
    realtime.reset_backoff()
    yield
    presence.reset_store()


async def receive_presence_of(
    comm: WebsocketCommunicator, user_id: int, online: bool, timeout: float = 5
) -> dict[str, Any]:
    """The next presence frame about `user_id` going online or offline."""
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if (
            frame["type"] == "presence"
            and frame["user_id"] == user_id
            and frame["online"] is online
        ):
            return frame
