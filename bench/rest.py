"""REST under concurrent clients: the load the `rest` scenario and the 32-client test drive.

Each client is a thread with one keep-alive HTTP/1.1 connection (as a mobile app or an
integration keeps one), acting for one buyer and the creator of that buyer's orders. It repeats
one round: list my orders (a page of 50), read one order, post a message on it, and move its
working order (the creator delivers, the buyer asks for a revision: a move that can be repeated
for as long as the run lasts). A bare round lists the same buyer's orders through a plain DRF
list view instead (bench/rest_baseline.py), the baseline for reads.

While the load runs, a sampler counts the PostgreSQL backends connected to the database (those
of one application_name: the server's processes are started with PGAPPNAME, which libpq reads).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

PAGE_SIZE = 50
OPERATIONS = ("list", "detail", "message", "move")


@dataclass(frozen=True)
class RestClient:
    """One client's credentials and orders (all placed by `buyer`, on items of one creator)."""

    buyer_token: str
    creator_token: str
    order_ids: tuple[int, ...]
    working_order_id: int  # paid and IN_PROGRESS: the one the client moves back and forth

    def as_json(self) -> dict[str, Any]:
        return self.__dict__ | {"order_ids": list(self.order_ids)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RestClient:
        return cls(**(data | {"order_ids": tuple(data["order_ids"])}))


@dataclass
class OperationStats:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


@dataclass
class RestRun:
    clients: int
    seconds: float
    operations: dict[str, OperationStats]
    transport_errors: list[str]
    max_backends: int | None

    @property
    def requests(self) -> int:
        return sum(sum(op.statuses.values()) for op in self.operations.values())

    @property
    def server_errors(self) -> int:
        return sum(
            count
            for op in self.operations.values()
            for status, count in op.statuses.items()
            if status >= 500
        )

    def unexpected(self) -> dict[str, dict[int, int]]:
        """Statuses other than the one each operation should answer."""
        want = {"list": 200, "bare": 200, "detail": 200, "message": 201, "move": 200}
        return {
            name: {s: c for s, c in op.statuses.items() if s != want[name]}
            for name, op in self.operations.items()
            if any(s != want[name] for s in op.statuses)
        }

    def summary(self) -> dict[str, Any]:
        ops = {}
        for name, op in self.operations.items():
            values = sorted(op.latencies_ms)
            ops[name] = {
                "requests": len(values),
                "p50_ms": percentile(values, 50),
                "p99_ms": percentile(values, 99),
                "statuses": {str(k): v for k, v in sorted(op.statuses.items())},
            }
        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "rps": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
            "server_errors": self.server_errors,
            "transport_errors": len(self.transport_errors),
            "first_transport_errors": self.transport_errors[:5],
            "unexpected": {
                k: {str(s): c for s, c in v.items()} for k, v in self.unexpected().items()
            },
            "max_backends": self.max_backends,
            "operations": ops,
        }


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return round(sorted_values[index], 2)


class BackendSampler:
    """The most PostgreSQL backends connected to `database` at any sample (every 50 ms)."""

    def __init__(self, server_dsn: str, database: str, application_name: str | None = None) -> None:
        import psycopg

        self.conn = psycopg.connect(server_dsn, autocommit=True)
        self.database = database
        self.application_name = application_name
        self.max = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def count(self) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            " AND (%s::text IS NULL OR application_name = %s)",
            (self.database, self.application_name, self.application_name),
        ).fetchone()
        return int(row[0]) if row else 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.max = max(self.max, self.count())
            self._stop.wait(0.05)

    def __enter__(self) -> BackendSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.conn.close()


class _Connection:
    """One keep-alive connection; reopened after a transport error (counted by the caller)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("the REST load only talks to this machine")
        self.host, self.port, self.timeout = parts.hostname, parts.port or 80, timeout
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            raise


def run_rest_load(
    *,
    base_url: str,
    clients: list[RestClient],
    seconds: float,
    bare: bool = False,
    sampler: BackendSampler | None = None,
    timeout: float = 30.0,
) -> RestRun:
    """Every client runs rounds until `seconds` have passed (a round in progress finishes).
    `bare`: only the baseline list (bench/rest_baseline.py)."""
    operations = {name: OperationStats() for name in (("bare",) if bare else OPERATIONS)}
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(clients) + 1)
    deadline = 0.0

    def record(name: str, status: int, started: float) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            operations[name].latencies_ms.append(elapsed)
            operations[name].statuses[status] += 1

    def one_client(index: int, client: RestClient) -> None:
        conn = _Connection(base_url, timeout)
        # Where the working order stands (an earlier run may have left it DELIVERED): not timed.
        try:
            status, body = conn.request(
                "GET", f"/api/orders/{client.working_order_id}", client.buyer_token
            )
        except (OSError, http.client.HTTPException):
            status, body = 0, b""
        delivered = status == 200 and json.loads(body)["status"] == "DELIVERED"
        start.wait()
        turn = 0
        while time.monotonic() < deadline:
            order_id = client.order_ids[turn % len(client.order_ids)]
            turn += 1
            if bare:
                steps = [("bare", "GET", f"/bench/bare-orders?page_size={PAGE_SIZE}", None, 0)]
            else:
                to, who = ("IN_PROGRESS", 0) if delivered else ("DELIVERED", 1)
                steps = [
                    ("list", "GET", f"/api/orders?role=buyer&page_size={PAGE_SIZE}", None, 0),
                    ("detail", "GET", f"/api/orders/{order_id}", None, 0),
                    (
                        "message",
                        "POST",
                        f"/api/orders/{order_id}/messages",
                        {"content": f"load {index}.{turn}", "client_id": uuid.uuid4().hex},
                        0,
                    ),
                    ("move", "PATCH", f"/api/orders/{client.working_order_id}/status",
                     {"status": to}, who),
                ]  # fmt: skip
            for name, method, path, body, who in steps:
                token = client.creator_token if who else client.buyer_token
                began = time.perf_counter()
                try:
                    status, _ = conn.request(method, path, token, body)
                except (OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    continue
                record(name, status, began)
                if name == "move" and status == 200:
                    delivered = not delivered
        conn.conn.close()

    threads = [
        threading.Thread(target=one_client, args=(i, c), daemon=True) for i, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    deadline = began + seconds
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + timeout + 10)
    elapsed = time.monotonic() - began
    return RestRun(
        clients=len(clients),
        seconds=elapsed,
        operations=operations,
        transport_errors=errors,
        max_backends=sampler.max if sampler is not None else None,
    )


def seed_rest_clients(
    *, count: int, orders_per_client: int, prefix: str, signing_key: str | None = None
) -> list[RestClient]:
    """`count` buyer/creator pairs with `orders_per_client` orders each (Django must be set up).

    The listed orders are bulk-inserted (the load reads them); the working order of each pair
    goes through the services: placed, paid (simulated gateway) and accepted. Access tokens are
    signed with `signing_key` (the server's SECRET_KEY) if given, else with this process's.
    """
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from rest_framework_simplejwt.backends import TokenBackend
    from rest_framework_simplejwt.tokens import AccessToken

    from orders import services
    from orders.models import Item, Order, terms_of
    from payments import services as payments

    def token(user: Any) -> str:
        access = AccessToken.for_user(user)
        if signing_key is None:
            return str(access)
        return TokenBackend("HS256", signing_key).encode(access.payload)

    user_model = get_user_model()
    password_hash = make_password(uuid.uuid4().hex)
    users = user_model.objects.bulk_create(
        [
            user_model(username=f"{prefix}{role}{i}", password=password_hash)
            for i in range(count)
            for role in ("b", "c")
        ]
    )
    clients = []
    for i in range(count):
        buyer, creator = users[2 * i], users[2 * i + 1]
        item = Item.objects.create(
            creator=creator,
            title=f"REST load listing {i}",
            description="Listed for the REST load.",
            base_price=Decimal("40.00"),
            item_type="SERVICE",
        )
        working = services.order_place(buyer=buyer, item=item)
        payments.payment_start(order=working, actor=buyer)
        working.refresh_from_db()
        services.order_move(order=working, actor=creator, to_status="IN_PROGRESS")
        listed = Order.objects.bulk_create(
            [
                Order(
                    buyer=buyer,
                    creator=creator,
                    item=item,
                    final_price=Decimal("40.00"),
                    **terms_of(item),
                )
                for _ in range(max(0, orders_per_client - 1))
            ]
        )
        clients.append(
            RestClient(
                buyer_token=token(buyer),
                creator_token=token(creator),
                order_ids=tuple([working.pk] + [o.pk for o in listed]),
                working_order_id=working.pk,
            )
        )
    return clients


def run_rest_scenario(
    *,
    env: dict[str, str],
    pg_url: str,
    db_name: str,
    concurrencies: tuple[int, ...],
    seconds: float,
    orders_per_client: int,
    logs: Any,
) -> dict[str, Any]:
    """Seed, start one ECHO process (with the baseline's URL), and at each concurrency run the
    ECHO round and then the bare list, each for `seconds`. Returns {"c=N": {"echo", "bare"}}."""
    from .system import ROOT, database_url, run_django, start_daphne

    plan_path = logs / "rest-plan.json"
    seed_env = {k: v for k, v in env.items() if k != "REDIS_URL"}
    run_django(
        ["-m", "bench.rest_seed", "--clients", str(max(concurrencies)),
         "--orders", str(orders_per_client), "--out", str(plan_path)],
        seed_env,
    )  # fmt: skip
    clients = [RestClient.from_json(c) for c in json.loads(plan_path.read_text())]
    app_name = "echo-bench-rest"
    server_env = env | {"DJANGO_SETTINGS_MODULE": "bench.rest_settings", "PGAPPNAME": app_name}
    server = start_daphne(
        app="echo_site.asgi:application", env=server_env, cwd=ROOT, log_dir=logs, name="rest"
    )
    results: dict[str, Any] = {}
    try:
        for count in concurrencies:
            row = {}
            for label, bare in (("echo", False), ("bare", True)):
                admin_url = database_url(pg_url, "postgres")
                with BackendSampler(admin_url, db_name, application_name=app_name) as backends:
                    run = run_rest_load(
                        base_url=server.http,
                        clients=clients[:count],
                        seconds=seconds,
                        bare=bare,
                        sampler=backends,
                    )
                row[label] = run.summary()
            results[f"c={count}"] = row
    finally:
        server.stop()
    return results


def render_rest(results: dict[str, Any], pool_max: int) -> str:
    lines = [
        "",
        f"### rest (one process, DB_POOL_MAX={pool_max or 'off: a connection per request'})",
        "",
        "| clients | system | req/s | 5xx | other | backends max | list p50/p99 ms | "
        "detail p99 ms | message p99 ms | move p99 ms | p99 read ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, row in results.items():
        bare_p99 = row["bare"]["operations"]["bare"]["p99_ms"]
        for label in ("echo", "bare"):
            s = row[label]
            ops = s["operations"]
            read = ops.get("list") or ops["bare"]

            def p99(name: str, ops: dict[str, Any] = ops) -> str:
                return f"{ops[name]['p99_ms']:.1f}" if name in ops else "-"

            ratio = f"{read['p99_ms'] / bare_p99:.2f}x" if label == "echo" and bare_p99 else "-"
            lines.append(
                f"| {key[2:]} | {label} | {s['rps']:.0f} | {s['server_errors']} | "
                f"{sum(sum(v.values()) for v in s['unexpected'].values()) - s['server_errors']}"
                f" | {s['max_backends']} | {read['p50_ms']:.1f}/{read['p99_ms']:.1f} | "
                f"{p99('detail')} | {p99('message')} | {p99('move')} | {ratio} |"
            )
    return "\n".join(lines) + "\n"


def rest_violations(results: dict[str, Any], pool_max: int) -> list[str]:
    """Any 5xx, transport error or unexpected answer, or more backends than the pool allows
    (DB_POOL_MAX=0, no pool: a connection per request, nothing to bound)."""
    found = []
    for key, row in results.items():
        for label, s in row.items():
            where = f"rest {key} on {label}"
            if s["server_errors"] or s["transport_errors"] or s["unexpected"]:
                found.append(
                    f"{where}: 5xx={s['server_errors']} transport={s['transport_errors']} "
                    f"unexpected={s['unexpected']}"
                )
            if pool_max > 0 and (s["max_backends"] is None or s["max_backends"] > pool_max):
                found.append(f"{where}: {s['max_backends']} backends over the bound {pool_max}")
    return found
