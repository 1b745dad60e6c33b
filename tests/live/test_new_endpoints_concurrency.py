"""Deliveries, uploads and notification settings under concurrent clients, as production runs
them (daphne, PostgreSQL, Redis, DEBUG off): no 5xx, and a delivery raced from two connections
lands once (the order's row lock), the other request answered 409."""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench.rest import seed_rest_clients
from orders.models import Delivery, Order
from tests.orders.files import pdf_bytes

from .test_rest_concurrency import production_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def call(base: str, token: str, method: str, path: str, body: bytes, ctype: str) -> int:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request(
            method, path, body, {"Authorization": f"Bearer {token}", "Content-Type": ctype}
        )
        return conn.getresponse().status
    finally:
        conn.close()


def multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.timeout(120)
def test_deliveries_uploads_and_settings_race_without_5xx(start_daphne: Any) -> None:
    key = secrets.token_urlsafe(50)
    clients = seed_rest_clients(count=8, orders_per_client=1, prefix="nc", signing_key=key)
    server = start_daphne(**production_env(key, DB_POOL_MAX="8", LIVE_DB_THREADS="2"))
    statuses: dict[str, list[int]] = {"deliver": [], "upload": [], "settings": []}
    lock = threading.Lock()

    def record(kind: str, status: int) -> None:
        with lock:
            statuses[kind].append(status)

    def deliver(client: Any) -> None:
        body = json.dumps({"message": "Here it is."}).encode()
        path = f"/api/orders/{client.working_order_id}/deliveries"
        record(
            "deliver",
            call(server.http, client.creator_token, "POST", path, body, "application/json"),
        )

    def upload(client: Any) -> None:
        body, ctype = multipart("brief.pdf", pdf_bytes("brief"))
        path = f"/api/orders/{client.working_order_id}/attachments"
        record("upload", call(server.http, client.buyer_token, "POST", path, body, ctype))

    def settings_patch(client: Any, n: int) -> None:
        body = json.dumps({"email_enabled": n % 2 == 0, "digest_delay_minutes": 5 + n}).encode()
        status = call(server.http, client.buyer_token, "PATCH", "/api/me/notifications", body,
                      "application/json")  # fmt: skip
        record("settings", status)

    threads = []
    for client in clients:
        threads += [threading.Thread(target=deliver, args=(client,)) for _ in range(2)]
        threads += [threading.Thread(target=upload, args=(client,)) for _ in range(2)]
        threads += [threading.Thread(target=settings_patch, args=(client, n)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert all(s < 500 for kind in statuses.values() for s in kind), statuses
    assert sorted(statuses["deliver"]) == [201] * 8 + [409] * 8, statuses
    assert statuses["upload"] == [201] * 16, statuses
    assert statuses["settings"] == [200] * 16, statuses
    for client in clients:
        assert Order.objects.get(pk=client.working_order_id).status == "DELIVERED"
        assert Delivery.objects.filter(order_id=client.working_order_id).count() == 1
