"""The embedded cache can't be flooded (issue 15 item 9): websocket tickets are rate limited per
user, and tickets live in a cache of their own, so issuing them never evicts throttle counters."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient

from chat.auth import ticket_issue

pytestmark = pytest.mark.django_db


def ticket_limit() -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["ws_ticket"].split("/")[0])


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_tickets_are_rate_limited_per_user(buyer, creator):
    client = client_for(buyer)
    for _ in range(ticket_limit()):
        assert client.post("/api/ws-ticket").status_code == 200
    refused = client.post("/api/ws-ticket")
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert client_for(creator).post("/api/ws-ticket").status_code == 200


SMALL = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "OPTIONS": {"MAX_ENTRIES": 20, "CULL_FREQUENCY": 2},
}


@override_settings(
    CACHES={
        **settings.CACHES,
        "default": {**SMALL, "LOCATION": "flood-default"},
        "throttle": {**SMALL, "LOCATION": "flood-throttle"},
        "tickets": {**SMALL, "LOCATION": "flood-tickets"},
        "throttle-local": {**SMALL, "LOCATION": "flood-local"},
    }
)
def test_a_flood_of_tickets_does_not_evict_throttle_counters(buyer):
    api = APIClient()
    api.default_format = "json"
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"].split("/")[0])
    for i in range(limit):
        api.post("/api/auth/token", {"username": f"user{i}", "password": "wrong-pass"})
    for _ in range(500):  # far past what the ticket cache holds
        ticket_issue(user_id=buyer.pk, expires_at=None, session_key=None)
    assert len(caches["tickets"]._cache) <= 20  # type: ignore[attr-defined]
    refused = api.post("/api/auth/token", {"username": "buyer", "password": "wrong-pass"})
    assert refused.status_code == 429
