"""Baseline: a raw `websockets` broadcast server, one process, no framework.

    python -m bench.raw_server --port PORT

ws /ws/room/{room}/ : every text frame goes to every member of the room (the sender included).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from websockets.asyncio.server import ServerConnection, broadcast, serve


async def main(port: int) -> None:
    rooms: dict[str, set[ServerConnection]] = {}

    async def handler(ws: ServerConnection) -> None:
        room = ws.request.path if ws.request is not None else "/"
        members = rooms.setdefault(room, set())
        members.add(ws)
        try:
            async for frame in ws:
                broadcast(members, frame)
        finally:
            members.discard(ws)

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(
        handler, "127.0.0.1", port, max_size=65536, compression=None, ping_interval=20
    ):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
