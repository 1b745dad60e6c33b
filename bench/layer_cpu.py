"""The channel layer alone: process CPU per delivered message, for this tree's layer and others'.

    .venv/bin/python bench/layer_cpu.py --redis redis://127.0.0.1:6379/0 \
        --tree wire=/tmp/echo-wire --tree redispy=. --rounds 5

Each round runs every tree once, in turn, in a fresh process (`--worker`, started in the tree's
directory so that its `echo_site` is the one imported) on uvloop, as daphne runs: 30 members in
one process, each in its own group; messages are sent as the live rooms send them, three
publishes per chat message queued at once (`publish_nowait` where the layer has it), and
every message is received from its channel's queue. CPU is the worker's own (user + system,
`time.process_time`) over the sends and receives: Redis's CPU is not in it. Medians per tree.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

MEMBERS = 30
MESSAGES = 3_000  # chat messages; three publishes each


async def work(redis_url: str) -> dict[str, float]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from echo_site.channel_layer import BatchingPubSubChannelLayer

    layer = BatchingPubSubChannelLayer(hosts=[redis_url], prefix=f"b{uuid.uuid4().hex[:6]}")
    channels = [await layer.new_channel() for _ in range(MEMBERS)]
    for n, channel in enumerate(channels):
        await layer.group_add(f"g{n}", channel)
    await asyncio.sleep(0.2)

    async def drain(channel: str, count: int) -> None:
        for _ in range(count):
            await layer.receive(channel)

    per_member = MESSAGES * 3 // MEMBERS
    started_cpu, started = time.process_time(), time.monotonic()
    receivers = [asyncio.ensure_future(drain(c, per_member)) for c in channels]
    for i in range(MESSAGES):
        n = i % MEMBERS
        sends = [(f"g{(n + k) % MEMBERS}", {"type": "chat.x", "i": i, "k": k}) for k in range(3)]
        await layer.publish_nowait(sends)
        if i % 50 == 0:
            await asyncio.sleep(0)  # let the readers run, as a busy server would
    await asyncio.wait_for(asyncio.gather(*receivers), 60)
    cpu, wall = time.process_time() - started_cpu, time.monotonic() - started
    await layer.flush()
    deliveries = MESSAGES * 3
    return {"cpu_us_per_delivery": cpu / deliveries * 1e6, "wall_s": wall}


def worker(redis_url: str) -> None:
    sys.path.insert(0, os.getcwd())
    import uvloop

    result = uvloop.run(work(redis_url))
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True)
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args.redis)
        return 0
    trees = [(n, Path(p).resolve()) for n, _, p in (t.partition("=") for t in args.tree)]
    figures: dict[str, list[float]] = {name: [] for name, _ in trees}
    for rnd in range(args.rounds):
        for name, path in trees:
            out = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--worker", "--redis", args.redis],
                cwd=path, capture_output=True, text=True, timeout=300, check=True,
                env={**os.environ, "DEBUG": "1", "PYTHONPATH": str(path)},
            )  # fmt: skip
            result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
            figures[name].append(result["cpu_us_per_delivery"])
            print(f"round {rnd + 1} {name}: {result['cpu_us_per_delivery']:.1f} us", flush=True)
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, values in figures.items():
        each = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name}: median {medians[name]:.1f} us per delivery ({each})")
    if len(trees) >= 2:
        first, second = trees[0][0], trees[1][0]
        print(f"ratio {second}/{first}: {medians[second] / medians[first]:.2f}x")
    print(f"load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
