"""The processes under test: a fresh PostgreSQL database, private redis-servers, daphne serving
ECHO (one or more processes), and the three baselines (bare, raw, tutorial). All on 127.0.0.1 and
free ports."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psutil

ROOT = Path(__file__).resolve().parents[1]

# Environment every ECHO process of the bench runs with: production settings (DEBUG off, a real
# SECRET_KEY, ALLOWED_HOSTS) plus the overrides the bench needs. Documented in docs/benchmarks.md.
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "echo_site.settings",
    "DEBUG": "0",
    "SECRET_KEY": SECRET_KEY,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "LOG_LEVEL": "WARNING",
    # Plain http on 127.0.0.1: no TLS proxy in front.
    "SECURE_SSL_REDIRECT": "0",
    "BEHIND_PROXY": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    # Tokens must outlive the whole run (production: 5 minutes, clients refresh).
    "JWT_ACCESS_MINUTES": "600",
    # The REST sample logs users in faster than the 10/min auth throttle allows.
    "AUTH_THROTTLE_RATE": "100000/min",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


# --- PostgreSQL -------------------------------------------------------------------------------


def database_url(server_url: str, name: str) -> str:
    parts = urlparse(server_url)
    return urlunparse(parts._replace(path=f"/{name}"))


def create_database(server_url: str, name: str) -> str:
    """Drop and create `name` on the server of `server_url`; return its URL."""
    import psycopg
    from psycopg import sql

    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad database name {name!r}")
    admin = database_url(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def count_rows(db_url: str, kind: str = "echo") -> dict[str, int]:
    import psycopg

    with psycopg.connect(db_url) as conn:
        if kind == "tutorial":
            rows = conn.execute("SELECT count(*) FROM chat_message").fetchone()
            return {"tutorial_messages": int(rows[0]) if rows else 0}
        orders = conn.execute("SELECT count(*) FROM orders_message").fetchone()
        disputes = conn.execute("SELECT count(*) FROM disputes_disputemessage").fetchone()
    return {
        "order_messages": int(orders[0]) if orders else 0,
        "dispute_messages": int(disputes[0]) if disputes else 0,
    }


def run_django(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    out = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


# --- Redis ------------------------------------------------------------------------------------


class RedisServer:
    """A private redis-server: pub/sub channels are global to a Redis server, so sharing one with
    other test runs would cross their rooms."""

    def __init__(self) -> None:
        self.port = free_port()
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--maxclients", "20000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, self.proc)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# --- Servers ----------------------------------------------------------------------------------


@dataclass
class Server:
    """One listening process."""

    name: str
    proc: subprocess.Popen[Any]
    port: int
    log_path: Path

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@dataclass
class System:
    """A system under test: its kind ("echo", "bare", "raw", "tutorial"), its processes, the
    redis-servers it uses and (tutorial) its own database."""

    label: str
    kind: str
    servers: list[Server] = field(default_factory=list)
    redis: list[RedisServer] = field(default_factory=list)
    db_url: str | None = None

    def redis_pids(self) -> dict[str, int]:
        return {f"redis{i}": r.proc.pid for i, r in enumerate(self.redis)}

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def pids(self) -> list[int]:
        return [s.proc.pid for s in self.servers]

    def url(self, index: int, path: str) -> str:
        return self.servers[index % len(self.servers)].ws + path


def start_daphne(
    *, app: str, env: dict[str, str], cwd: Path, log_dir: Path, name: str, launcher: str = ""
) -> Server:
    """daphne through ECHO's launcher (echo_site.serve), or plain `daphne` (launcher="daphne")."""
    port = free_port()
    log_path = log_dir / f"{name.replace(' ', '_')}-{port}.log"
    log = open(log_path, "ab")  # noqa: SIM115 - the process owns it until it exits
    proc = subprocess.Popen(
        [sys.executable, "-m", launcher or "echo_site.serve", "-b", "127.0.0.1", "-p", str(port),
         app],
        cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    wait_for_port(port, proc)
    return Server(name=name, proc=proc, port=port, log_path=log_path)


def start_raw(*, log_dir: Path) -> Server:
    port = free_port()
    log_path = log_dir / f"raw-{port}.log"
    log = open(log_path, "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.raw_server", "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    wait_for_port(port, proc)
    return Server(name="raw", proc=proc, port=port, log_path=log_path)


def start_system(
    *,
    label: str,
    kind: str,
    processes: int,
    env: dict[str, str],
    cwd: Path,
    log_dir: Path,
    redis: list[RedisServer] | None = None,
    tutorial_db_url: str | None = None,
) -> System:
    system = System(label=label, kind=kind, redis=list(redis or []))
    if kind == "tutorial":
        if tutorial_db_url is None:
            raise ValueError("the tutorial system needs its database")
        system.db_url = tutorial_db_url
    try:
        for i in range(processes):
            if kind == "echo":
                server = start_daphne(
                    app="echo_site.asgi:application", env=env, cwd=cwd, log_dir=log_dir,
                    name=f"{label}-{i}",
                )  # fmt: skip
            elif kind == "bare":
                server = start_daphne(
                    app="bench.bare_asgi:application", env=env, cwd=ROOT, log_dir=log_dir,
                    name=f"{label}-{i}",
                )  # fmt: skip
            elif kind == "tutorial":
                server = start_daphne(
                    app="bench.tutorial.asgi:application", env=tutorial_env(env, tutorial_db_url),
                    cwd=ROOT, log_dir=log_dir, name=f"{label}-{i}", launcher="daphne",
                )  # fmt: skip
            elif kind == "raw":
                server = start_raw(log_dir=log_dir)
            else:
                raise ValueError(kind)
            system.servers.append(server)
    except BaseException:
        system.stop()
        raise
    return system


def tutorial_env(env: dict[str, str], db_url: str | None) -> dict[str, str]:
    """The tutorial baseline's environment: its own settings and database, the same Redis."""
    out = {**env, "DJANGO_SETTINGS_MODULE": "bench.tutorial.settings"}
    if db_url is not None:
        out["DATABASE_URL"] = db_url
    out.pop("CHANNEL_LAYER_REDIS_URLS", None)
    return out


# --- CPU and memory of the server processes -----------------------------------------------------


class ProcStats:
    """CPU seconds and RSS of a set of PIDs (children included), sampled at two instants."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = [psutil.Process(pid) for pid in pids]
        self.cpu0 = self.cpu()
        self.t0 = time.monotonic()

    def cpu(self) -> float:
        total = 0.0
        for proc in self.procs:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def rss(self) -> int:
        total = 0
        for proc in self.procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total

    def restart(self) -> None:
        self.cpu0 = self.cpu()
        self.t0 = time.monotonic()

    def sample(self) -> dict[str, float]:
        elapsed = max(1e-9, time.monotonic() - self.t0)
        cpu = self.cpu() - self.cpu0
        return {"cpu_s": cpu, "cpu_pct": 100.0 * cpu / elapsed, "rss_mb": self.rss() / 2**20}


# --- The REST sample: register, log in, place and pay an order, over HTTP ----------------------


def http_json(
    method: str, url: str, *, token: str | None = None, body: Any = None, timeout: float = 30
) -> tuple[int, Any]:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("the bench only talks to 127.0.0.1")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def rest_sample(http: str, tag: str) -> dict[str, Any]:
    """Register a buyer and a creator, log both in, list an item, place and pay an order."""

    def check(status: int, body: Any, want: tuple[int, ...], what: str) -> Any:
        if status not in want:
            raise RuntimeError(f"REST {what}: {status} {body}")
        return body

    password = "bench-Password-42"  # noqa: S105
    tokens = []
    for role in ("buyer", "creator"):
        name = f"rest_{tag}_{role}"
        check(
            *http_json(
                "POST",
                f"{http}/api/auth/register",
                body={"username": name, "email": f"{name}@bench.invalid", "password": password},
            ),
            (201,),
            "register",
        )
        body = check(
            *http_json(
                "POST", f"{http}/api/auth/token", body={"username": name, "password": password}
            ),
            (200,),
            "token",
        )
        tokens.append(body["access"])
    item = check(
        *http_json(
            "POST",
            f"{http}/api/items",
            token=tokens[1],
            body={
                "title": "Bench logo",
                "description": "bench",
                "base_price": "25.00",
                "item_type": "SERVICE",
            },
        ),
        (201,),
        "item",
    )
    order = check(
        *http_json("POST", f"{http}/api/orders", token=tokens[0], body={"item_id": item["id"]}),
        (201,),
        "order",
    )
    payment = check(
        *http_json("POST", f"{http}/api/orders/{order['id']}/payment", token=tokens[0]),
        (200, 201),
        "payment",
    )
    return {"order_id": order["id"], "tokens": tokens, "payment_status": payment["status"]}


def log_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="echo-bench-"))


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(BENCH_ENV)
    env.update(extra)
    return env
