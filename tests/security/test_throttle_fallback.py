"""With the shared throttle store unreachable, the limits count per process: never unlimited,
never a 500 (issue 24 item 1). The real outage, on daphne with a stopped redis-server, is
tests/live/test_auth_redis_outage.py; this is the same rule in-process, for both passes."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from echo_site import throttling
from tests.live.servers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_unreachable(monkeypatch):
    monkeypatch.setattr(throttling, "_shared_down_until", 0.0)
    nowhere = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    caches = {
        **settings.CACHES,
        "throttle": nowhere,
        "tickets": nowhere,
        "throttle-local": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "fallback-test",
        },
    }
    with override_settings(CACHES=caches):
        yield


def test_login_works_and_the_limit_holds_per_process(redis_unreachable, buyer, password):
    api = APIClient()
    api.default_format = "json"
    assert (
        api.post("/api/auth/token", {"username": "buyer", "password": password}).status_code == 200
    )
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"].split("/")[0])
    statuses = [
        api.post("/api/auth/token", {"username": f"u{i}", "password": "wrong-pass"}).status_code
        for i in range(limit)
    ]
    assert statuses[:-1] == [401] * (limit - 1)
    assert statuses[-1] == 429


def test_a_ticket_is_a_503_with_retry_after(redis_unreachable, buyer):
    api = APIClient()
    api.force_authenticate(buyer)
    response = api.post("/api/ws-ticket")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert int(response["Retry-After"]) > 0
