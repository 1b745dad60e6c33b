"""The REST API under concurrent clients on PostgreSQL, as production runs it: one daphne process,
DEBUG off, the connection pool. Zero 5xx, and never more PostgreSQL backends than the bound.

The load itself (bench/rest.py) is the benchmark's `rest` scenario: list, detail, post a message,
move an order, each client on a keep-alive connection of its own.
"""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from bench.rest import BackendSampler, run_rest_load, seed_rest_clients
from orders.models import Order

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

APP_NAME = "echo-rest-under-test"


def production_env(key: str, **extra: str) -> dict[str, str]:
    return {
        "DEBUG": "0",
        "SECRET_KEY": key,
        "SECURE_SSL_REDIRECT": "0",
        "BEHIND_PROXY": "0",
        "LOG_LEVEL": "WARNING",
        "PGAPPNAME": APP_NAME,  # libpq names the server's connections: the sampler counts them
        **extra,
    }


def sampler() -> BackendSampler:
    db = connection.settings_dict
    dsn = f"host={db.get('HOST') or '127.0.0.1'} port={db.get('PORT') or 5432} dbname=postgres"
    dsn += f" user={db.get('USER') or 'postgres'}"
    if db.get("PASSWORD"):
        dsn += f" password={db['PASSWORD']}"
    return BackendSampler(dsn, db["NAME"], application_name=APP_NAME)


@pytest.mark.timeout(120)
def test_32_clients_get_no_5xx_and_the_process_stays_within_its_pool(start_daphne: Any) -> None:
    key = secrets.token_urlsafe(50)
    clients = seed_rest_clients(count=32, orders_per_client=3, prefix="rc", signing_key=key)
    server = start_daphne(**production_env(key, DB_POOL_MAX="8", LIVE_DB_THREADS="2"))

    with sampler() as backends:
        run = run_rest_load(base_url=server.http, clients=clients, seconds=4, sampler=backends)

    summary = run.summary()
    assert run.requests > 4 * 32, summary
    assert run.server_errors == 0, summary
    assert not run.transport_errors, summary
    assert not run.unexpected(), summary
    assert all(op.statuses for op in run.operations.values()), summary
    assert run.max_backends is not None and 1 <= run.max_backends <= 8, summary
    # Every move and message landed exactly once.
    moved = run.operations["move"].statuses[200]
    for client in clients:
        order = Order.objects.get(pk=client.working_order_id)
        assert order.status in ("IN_PROGRESS", "DELIVERED")
    assert moved > 0


@pytest.mark.timeout(60)
def test_an_exhausted_pool_answers_503_with_retry_after_and_opens_no_more(
    start_daphne: Any,
) -> None:
    """Requests that find every pooled connection busy wait DB_POOL_TIMEOUT_SECONDS, then get a
    503 JSON error the client may retry; the process never opens a connection over the bound."""
    key = secrets.token_urlsafe(50)
    (client,) = seed_rest_clients(count=1, orders_per_client=1, prefix="px", signing_key=key)
    server = start_daphne(
        **production_env(
            key,
            DB_POOL_MAX="2",
            DB_POOL_MIN="0",
            LIVE_DB_THREADS="1",
            DB_POOL_TIMEOUT_SECONDS="0.5",
        )
    )
    answers: list[tuple[int, dict[str, str], Any]] = []

    def move() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request(
            "PATCH",
            f"/api/orders/{client.working_order_id}/status",
            body=json.dumps({"status": "DELIVERED"}),
            headers={
                "Authorization": f"Bearer {client.creator_token}",
                "Content-Type": "application/json",
            },
        )
        response = conn.getresponse()
        answers.append((response.status, dict(response.getheaders()), json.loads(response.read())))
        conn.close()

    with sampler() as backends:
        # The order's row is locked here: each move holds a pooled connection while it waits.
        with transaction.atomic():
            Order.objects.select_for_update().get(pk=client.working_order_id)
            threads = [threading.Thread(target=move) for _ in range(6)]
            for thread in threads:
                thread.start()
            time.sleep(1.5)  # three times the pool timeout: the moves without a connection give up
        for thread in threads:
            thread.join(timeout=20)

    statuses = sorted(status for status, _, _ in answers)
    assert len(answers) == 6, answers
    assert 503 in statuses, statuses
    assert 200 in statuses, statuses  # the lock's release lets a waiting move through
    assert all(status in (200, 409, 503) for status in statuses), answers
    for status, headers, body in answers:
        if status == 503:
            assert body["code"] == "service_unavailable"
            assert int(headers["Retry-After"]) >= 1
    assert 1 <= backends.max <= 2
    log = server.log_path.read_text()
    assert "database pool exhausted" in log
    assert "Traceback" not in log  # load, not a fault: one warning line per refused request
