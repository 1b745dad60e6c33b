"""Real processes for end-to-end tests: daphne serving ECHO, a private redis-server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection

# The process helpers the load tool uses too: one copy of each.
from bench.system import free_port, http_json, wait_for_port

__all__ = [
    "Daphne",
    "RedisServer",
    "free_port",
    "http_json",
    "test_database_url",
    "wait_for_port",
]

ROOT = Path(__file__).resolve().parents[2]
SERVE = [sys.executable, "-m", "echo_site.serve"]


def test_database_url() -> str:
    """The URL of the database this test session is using (the test database)."""
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class Daphne:
    def __init__(
        self,
        *,
        redis_url: str,
        log_path: Path,
        extra_env: dict[str, str] | None = None,
        launcher: list[str] | None = None,
    ):
        self.port = free_port()
        self.log_path = log_path
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "echo_site.settings",
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": redis_url,
            "DEBUG": "1",
            "LOG_LEVEL": "INFO",
            "LIVE_HEARTBEAT_SECONDS": "1",
            "BROADCAST_TIMEOUT_SECONDS": "1",
            "BROADCAST_BACKOFF_SECONDS": "0.5",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{self.port}",
            "MEDIA_ROOT": str(log_path.parent / "media"),  # uploads beside the log, not ./media
            **(extra_env or {}),
        }
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                *(launcher or SERVE),
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "echo_site.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, proc=self.proc)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class RedisServer:
    """A private redis-server, so a test can really stop and restart it."""

    def __init__(self, port: int | None = None, *, args: list[str] | None = None) -> None:
        self.port = port or free_port()
        self.args = args or []  # more redis-server options (TLS, ACL users, a unix socket)
        self.proc: subprocess.Popen[Any] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextmanager
def running_redis_servers(count: int) -> Iterator[list[RedisServer]]:
    """`count` private redis-servers, started, stopped on the way out (the layer's shards)."""
    servers = [RedisServer() for _ in range(count)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()
