from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect

from .servers import Daphne


@pytest.fixture
def start_daphne(tmp_path: Path) -> Iterator[Any]:
    started: list[Daphne] = []

    def start(redis_url: str | None = None, **extra_env: str) -> Daphne:
        server = Daphne(
            redis_url=redis_url or settings.REDIS_URL,
            log_path=tmp_path / f"daphne-{len(started)}.log",
            extra_env=extra_env,
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


async def ws_connect(
    url: str, *, token: str | None = None, origin: str | None = None, **kwargs: Any
) -> ClientConnection:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await connect(url, additional_headers=headers, origin=origin, open_timeout=10, **kwargs)


async def next_frame(
    ws: ClientConnection,
    frame_type: str,
    timeout: float = 10,
    skip: frozenset[str] = frozenset({"presence", "typing", "read", "pong"}),
) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == frame_type:
                return frame
            if frame["type"] not in skip:
                raise AssertionError(f"expected {frame_type}, got {frame}")

    return await asyncio.wait_for(read(), timeout)
