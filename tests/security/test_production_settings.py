"""Production settings that keep users safe: HTTPS-only cookies and HSTS behind the proxy, short
JWT lifetimes with rotation and blacklisting, throttled login, validated passwords.

`check --deploy` being clean, and refusing to start without SECRET_KEY:
tests/orders/test_settings.py. Login and registration throttles, password validation:
tests/orders/test_auth.py.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, django
django.setup()
from django.conf import settings as s
from django.test import Client
client = Client(raise_request_exception=False)
https = client.get("/healthz", HTTP_HOST="echo.example.com", HTTP_X_FORWARDED_PROTO="https")
http = client.get("/api/items", HTTP_HOST="echo.example.com")
print(json.dumps({
    "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE,
    "SESSION_COOKIE_HTTPONLY": s.SESSION_COOKIE_HTTPONLY,
    "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
    "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": s.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "SECURE_PROXY_SSL_HEADER": list(s.SECURE_PROXY_SSL_HEADER or []),
    "SECURE_CONTENT_TYPE_NOSNIFF": s.SECURE_CONTENT_TYPE_NOSNIFF,
    "X_FRAME_OPTIONS": s.X_FRAME_OPTIONS,
    "DEBUG": s.DEBUG,
    "https_status": https.status_code,
    "https_hsts": https.headers.get("Strict-Transport-Security"),
    "http_status": http.status_code,
    "http_location": http.headers.get("Location"),
    "http_hsts": http.headers.get("Strict-Transport-Security"),
}))
"""


@pytest.fixture(scope="module")
def production() -> dict:
    keep = {"PATH", "HOME", "LANG", "VIRTUAL_ENV", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {
        "DJANGO_SETTINGS_MODULE": "echo_site.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "echo.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://echo.example.com",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cookies_are_https_only_in_production(production):
    assert production["DEBUG"] is False
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["X_FRAME_OPTIONS"] == "DENY"


def test_hsts_is_a_year_with_subdomains_and_trusts_the_proxys_https_header(production):
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_an_https_request_through_the_proxy_gets_the_hsts_header(production):
    assert production["https_status"] == 200
    assert production["https_hsts"].startswith("max-age=31536000")
    assert "includeSubDomains" in production["https_hsts"]


def test_a_plain_http_request_is_redirected_to_https_without_hsts(production):
    # (/healthz alone is exempt: the platform's health check speaks plain HTTP.)
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["http_status"] == 301
    assert production["http_location"] == "https://echo.example.com/api/items"
    assert production["http_hsts"] is None  # HSTS is only ever sent over HTTPS


def test_jwt_lifetimes_are_short_and_refresh_tokens_rotate_into_a_blacklist():
    jwt = settings.SIMPLE_JWT
    assert jwt["ACCESS_TOKEN_LIFETIME"] <= timedelta(minutes=15)
    assert jwt["REFRESH_TOKEN_LIFETIME"] <= timedelta(days=1)
    assert jwt["ROTATE_REFRESH_TOKENS"] is True
    assert jwt["BLACKLIST_AFTER_ROTATION"] is True
    assert "rest_framework_simplejwt.token_blacklist" in settings.INSTALLED_APPS


@pytest.mark.django_db
def test_a_refresh_token_used_once_is_refused_after_rotation(buyer, password):
    client = APIClient()
    tokens = client.post(
        "/api/auth/token", {"username": "buyer", "password": password}, format="json"
    ).json()
    first = client.post("/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert first.status_code == 200
    assert first.json()["refresh"] != tokens["refresh"]

    replay = client.post("/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert replay.status_code == 401
    assert replay.json()["code"] in {"token_not_valid", "authentication_failed"}

    rotated = client.post(
        "/api/auth/token/refresh", {"refresh": first.json()["refresh"]}, format="json"
    )
    assert rotated.status_code == 200


@pytest.mark.django_db
def test_a_refresh_token_revoked_at_logout_is_refused(buyer, password):
    client = APIClient()
    tokens = client.post(
        "/api/auth/token", {"username": "buyer", "password": password}, format="json"
    ).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert (
        client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code
        == 204
    )
    client.credentials()
    again = client.post("/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert again.status_code == 401


@pytest.mark.django_db
def test_token_refresh_is_throttled_like_login(buyer):
    client = APIClient()
    answers = [
        client.post("/api/auth/token/refresh", {"refresh": "x"}, format="json").status_code
        for _ in range(12)
    ]
    assert answers[-1] == 429
    assert set(answers[:10]) == {401}


def test_passwords_are_validated_by_every_django_validator():
    names = {v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert names >= {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }
