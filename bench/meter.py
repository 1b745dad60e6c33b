"""CPU of everything a delivery costs, per service: the server processes (every daphne process of
the system), the PostgreSQL backends serving its database, and each private redis-server.

- Server processes and redis-servers: user+system seconds of their PIDs (psutil), read at the
  start and at the end of the measured period; for each redis-server also the commands it
  processed (INFO stats), which shows that a shard carried its part.
- PostgreSQL: the backends are found in `pg_stat_activity` (`datname` = the system's database;
  autovacuum workers on it included), polled every `poll_s` from a connection to the `postgres`
  database (so the poller is not one of them), each backend's CPU read from /proc through
  psutil. A backend seen at the start counts from its reading then; one that appears later
  counts from zero (it started inside the period); one that exits counts up to its last reading
  (so up to `poll_s` of its CPU can be missed: `backends_gone` says how many did).
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlparse

import psutil

from .system import System, database_url


def cpu_of(pid: int) -> float | None:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def commands_of(url: str) -> int:
    """Commands a redis-server has processed since it started (INFO stats)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("stats")["total_commands_processed"])
    finally:
        client.close()


class PgBackends:
    """CPU seconds of the PostgreSQL backends of one database over a period (a poller thread)."""

    def __init__(self, db_url: str, *, poll_s: float = 0.5) -> None:
        import psycopg

        self.db_name = urlparse(db_url).path.lstrip("/")
        self.conn = psycopg.connect(database_url(db_url, "postgres"), autocommit=True)
        self.poll_s = poll_s
        self.start: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.seen_at_start: set[int] = set()
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.failed_polls = 0
        self.poll()
        self.seen_at_start = set(self.last)
        self.start = dict(self.last)
        self.thread = threading.Thread(target=self.run, name="pg-backends", daemon=True)
        self.thread.start()

    def pids(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db_name,)
        ).fetchall()
        return [int(row[0]) for row in rows]

    def poll(self) -> None:
        for pid in self.pids():
            cpu = cpu_of(pid)
            if cpu is not None:
                with self.lock:
                    self.last[pid] = cpu

    def run(self) -> None:
        while not self.stop_event.wait(self.poll_s):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - a failed poll loses one reading, not the run
                self.failed_polls += 1

    def finish(self) -> dict[str, Any]:
        self.stop_event.set()
        self.thread.join(timeout=10)
        self.poll()
        alive = set(self.pids())
        self.conn.close()
        with self.lock:
            total = sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.last.items())
            seen = set(self.last)
        return {
            "cpu_s": total,
            "backends": len(seen),
            "backends_new": len(seen - self.seen_at_start),
            "backends_gone": len(seen - alive),
            "failed_polls": self.failed_polls,
        }


class Meter:
    """Start it when the measured period starts; `finish()` gives CPU seconds per service."""

    def __init__(self, system: System, db_url: str) -> None:
        self.t0 = time.monotonic()
        self.servers = {pid: cpu_of(pid) or 0.0 for pid in system.pids()}
        self.redis = {name: (pid, cpu_of(pid) or 0.0) for name, pid in system.redis_pids().items()}
        self.redis_urls = {f"redis{i}": r.url for i, r in enumerate(system.redis)}
        self.commands0 = {name: commands_of(url) for name, url in self.redis_urls.items()}
        self.pg = PgBackends(system.db_url or db_url)

    def finish(self) -> dict[str, Any]:
        elapsed = max(1e-9, time.monotonic() - self.t0)
        servers = sum((cpu_of(pid) or cpu0) - cpu0 for pid, cpu0 in self.servers.items())
        redis = {name: (cpu_of(pid) or cpu0) - cpu0 for name, (pid, cpu0) in self.redis.items()}
        commands = {
            name: commands_of(url) - self.commands0[name] for name, url in self.redis_urls.items()
        }
        pg = self.pg.finish()
        return {
            "elapsed_s": elapsed,
            "server_cpu_s": servers,
            "server_processes": len(self.servers),
            "redis_cpu_s": redis,
            "redis_commands": commands,
            "pg_cpu_s": pg["cpu_s"],
            "pg": pg,
        }


def per_thousand(cpu: dict[str, Any], deliveries: int) -> dict[str, Any]:
    """CPU seconds per 1,000 deliveries, per service and in total."""
    scale = 1000.0 / max(1, deliveries)
    redis = {name: s * scale for name, s in cpu["redis_cpu_s"].items()}
    out = {
        "daphne": cpu["server_cpu_s"] * scale,
        "postgres": cpu["pg_cpu_s"] * scale,
        "redis": sum(redis.values()),
        "redis_each": redis,
    }
    out["total"] = out["daphne"] + out["postgres"] + out["redis"]
    return out
