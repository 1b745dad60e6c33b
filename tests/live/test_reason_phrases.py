"""429 responses carry the reason phrase "Too Many Requests" on the status line (issue 15,
item 8): daphne hands Twisted only the code, and Twisted's table had no phrase for 429."""

from __future__ import annotations

import http.client
import json

import pytest
from twisted.web import http as twisted_http
from twisted.web.test.requesthelper import DummyChannel

from echo_site.patches import twisted as twisted_patches


@pytest.mark.parametrize(
    ("code", "phrase"),
    [(429, b"Too Many Requests"), (413, b"Request Entity Too Large"), (404, b"Not Found")],
)
def test_twisted_knows_every_standard_reason_phrase(code, phrase):
    twisted_patches.apply_standard_reason_phrases()
    request = twisted_http.Request(DummyChannel(), False)
    request.setResponseCode(code)
    assert request.code_message == phrase


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_throttled_login_over_daphne_says_too_many_requests(start_daphne):
    server = start_daphne(AUTH_THROTTLE_RATE="2/min")
    body = json.dumps({"username": "nobody", "password": "wrong-password-1"})
    for _ in range(30):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request(
            "POST", "/api/auth/token", body=body, headers={"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status == 429:
            break
    assert response.status == 429
    assert response.reason == "Too Many Requests"
