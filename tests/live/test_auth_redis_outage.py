"""Redis down (issue 24 item 1): signing in, refreshing and registering still work, throttled per
process (never unlimited, never a 500); a websocket ticket is a 503 with Retry-After.

On a real daphne process whose private redis-server has been stopped.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.conf import settings

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def post(url: str, body: Any = None, token: str | None = None) -> tuple[int, dict, Any]:
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(  # noqa: S310
        url, data=json.dumps(body or {}).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


@pytest.fixture(autouse=True)
def _server_password_hashing(_fast_password_hashing: None, settings: Any) -> None:
    """Users sign in on the daphne under test, which knows only the real hashers."""
    from django.conf import global_settings

    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


def test_auth_works_and_stays_throttled_while_redis_is_down(
    start_daphne, private_redis, buyer, password
):
    server = start_daphne(redis_url=private_redis.url)
    private_redis.stop()
    api = f"{server.http}/api"

    started = time.monotonic()
    status, _, tokens = post(f"{api}/auth/token", {"username": "buyer", "password": password})
    assert status == 200, tokens
    status, _, refreshed = post(f"{api}/auth/token/refresh", {"refresh": tokens["refresh"]})
    assert status == 200, refreshed
    body = {"username": "newcomer", "email": "newcomer@example.com", "password": password}
    status, _, created = post(f"{api}/auth/register", body)
    assert status == 201, created
    assert time.monotonic() - started < 10

    # A websocket ticket needs the shared store: a clean 503 the client can retry.
    status, headers, refused = post(f"{api}/ws-ticket", token=tokens["access"])
    assert status == 503, refused
    assert refused["code"] == "service_unavailable"
    assert set(refused) >= {"error", "code", "fields"}
    assert int(headers["Retry-After"]) > 0

    # The limit per address still holds, counted in this process: never unlimited.
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"].split("/")[0])
    statuses = [
        post(f"{api}/auth/token", {"username": f"nobody{i}", "password": "wrong-pass"})[0]
        for i in range(limit)
    ]
    assert statuses[-1] == 429
    assert set(statuses) <= {401, 429}
    status, headers, body = post(f"{api}/auth/token", {"username": "buyer", "password": password})
    assert status == 429 and body["code"] == "throttled"
    assert int(headers["Retry-After"]) > 0


def test_on_two_processes_auth_and_tickets_come_through_a_redis_kill_and_restart(
    start_daphne, private_redis, buyer, password
):
    """Both processes have used Redis (pooled connections that go stale when it is killed); while
    it is down each signs in, refreshes and registers on its own; after the restart the first
    sign-in and the first ticket on each process succeed (no stale connection fails them)."""
    servers = [start_daphne(redis_url=private_redis.url) for _ in range(2)]
    credentials = {"username": "buyer", "password": password}
    for server in servers:
        status, _, tokens = post(f"{server.http}/api/auth/token", credentials)
        assert status == 200, tokens
        assert post(f"{server.http}/api/ws-ticket", token=tokens["access"])[0] == 200

    private_redis.stop()  # SIGKILL
    for index, server in enumerate(servers):
        api = f"{server.http}/api"
        status, _, tokens = post(f"{api}/auth/token", credentials)
        assert status == 200, tokens
        status, _, refreshed = post(f"{api}/auth/token/refresh", {"refresh": tokens["refresh"]})
        assert status == 200, refreshed
        newcomer = {"username": f"outage{index}", "email": f"o{index}@example.com"}
        status, _, created = post(f"{api}/auth/register", {**newcomer, "password": password})
        assert status == 201, created
        status, headers, refused = post(f"{api}/ws-ticket", token=tokens["access"])
        assert status == 503 and refused["code"] == "service_unavailable", refused
        assert int(headers["Retry-After"]) > 0

    private_redis.start()  # the same port, nothing kept
    for server in servers:
        status, _, tokens = post(f"{server.http}/api/auth/token", credentials)
        assert status == 200, tokens
        status, _, ticket = post(f"{server.http}/api/ws-ticket", token=tokens["access"])
        assert status == 200, ticket
