"""Real Celery worker processes on the test database, with Redis as the broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from django.conf import settings

from tests.live.servers import ROOT, test_database_url

CELERY = [sys.executable, "-m", "celery", "-A", "echo_site", "worker"]


def broker_url() -> str:
    """The services pass's Redis (the test's own database number) as the broker."""
    return settings.REDIS_URL


def clear_broker() -> None:
    client = redis.Redis.from_url(broker_url())
    for key in client.scan_iter(match="*celery*"):
        client.delete(key)
    for key in client.scan_iter(match="unacked*"):
        client.delete(key)
    for key in client.scan_iter(match="_kombu*"):
        client.delete(key)
    client.close()


def producer() -> Celery:
    """A client of the same broker, to send tasks by name as the web process and beat do."""
    return Celery("probe", broker=broker_url(), set_as_current=False)


class Worker:
    def __init__(self, name: str, log_dir: Path, **env: str) -> None:
        self.name = name
        self.log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                *CELERY,
                "--pool=solo",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],  # fmt: skip
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "echo_site.settings",
                "DEBUG": "1",
                "DATABASE_URL": test_database_url(),
                "REDIS_URL": settings.REDIS_URL,
                "CELERY_BROKER_URL": broker_url(),
                "CELERY_TASK_ALWAYS_EAGER": "0",
                "CELERY_DATA_DIR": str(log_dir / "celery"),
                **env,
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def wait_until(check: Callable[[], Any], *, timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or check}")
