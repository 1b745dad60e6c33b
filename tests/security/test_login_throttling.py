"""Brute force is really limited (issue 15 item 1).

Every way to present a password (POST /api/auth/token, /api/auth/token/refresh,
/api/auth/register, the /signin/ and /register/ forms, /admin/login/) shares one limit per client
address, and failed sign-ins count per username from any address. The client address is the
socket's unless TRUSTED_PROXY_COUNT proxies are trusted: a client-sent X-Forwarded-For changes
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import count

import pytest
from django.conf import settings
from django.test import Client, override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

_names = count()


def limit(scope: str) -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")[0])


def api_post(path: str, body: dict, **meta: str):
    client = APIClient()
    client.default_format = "json"
    return client.post(path, body, **meta)


def page_post(path: str, body: dict, **meta: str):
    # A browser: GET the form for its CSRF token, then POST it (both from the same address).
    client = Client(enforce_csrf_checks=True)
    page = client.get(path, **meta)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token, page.content[:500]
    return client.post(path, {**body, "csrfmiddlewaretoken": token.group(1).decode()}, **meta)


def token_attempt(username: str = "buyer", **meta: str):
    return api_post("/api/auth/token", {"username": username, "password": "wrong-pass"}, **meta)


def refresh_attempt(**meta: str):
    return api_post("/api/auth/token/refresh", {"refresh": "not.a.token"}, **meta)


def api_register_attempt(**meta: str):
    name = f"api{next(_names)}"
    body = {"username": name, "email": f"{name}@example.com", "password": "a-Strong-pass-42"}
    return api_post("/api/auth/register", body, **meta)


def signin_attempt(**meta: str):
    return page_post("/signin/", {"username": "buyer", "password": "wrong-pass"}, **meta)


def page_register_attempt(**meta: str):
    name = f"page{next(_names)}"
    body = {"username": name, "email": f"{name}@example.com", "password": "a-Strong-pass-42"}
    return page_post("/register/", body, **meta)


def admin_login_attempt(**meta: str):
    body = {"username": "admin-x", "password": "wrong-pass", "next": "/admin/"}
    return page_post("/admin/login/", body, **meta)


ENTRY_POINTS: dict[str, Callable] = {
    "api token": token_attempt,
    "api refresh": refresh_attempt,
    "api register": api_register_attempt,
    "signin page": signin_attempt,
    "register page": page_register_attempt,
    "admin login": admin_login_attempt,
}
PAGES = {"signin page", "register page", "admin login"}


def assert_throttled(name: str, response) -> None:
    assert response.status_code == 429, (name, response.status_code)
    assert response.reason_phrase == "Too Many Requests"
    assert int(response["Retry-After"]) > 0
    if name in PAGES:
        assert b"Too many attempts" in response.content, response.content[:2000]
    else:
        assert response.json()["code"] == "throttled"


def test_rotating_x_forwarded_for_does_not_escape_the_address_limit(buyer):
    # (Another username each time: only the limit per address is at stake here.)
    for i in range(limit("auth")):
        response = token_attempt(f"user{i}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        assert response.status_code == 401
    assert_throttled("api token", token_attempt("x", HTTP_X_FORWARDED_FOR="203.0.113.7"))
    # The socket address is what counts: another client is not affected.
    assert token_attempt("y", REMOTE_ADDR="192.0.2.50").status_code == 401


@override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": 1})
def test_behind_one_trusted_proxy_the_address_it_appended_counts(buyer):
    # The proxy (127.0.0.1) appends the address it saw; whatever the client sent before that
    # is the client's own text and is ignored.
    for i in range(limit("auth")):
        spoofed = f"10.9.9.{i}, 198.51.100.20"
        assert token_attempt(f"user{i}", HTTP_X_FORWARDED_FOR=spoofed).status_code == 401
    throttled = token_attempt("x", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.20")
    assert_throttled("api token", throttled)
    assert token_attempt("y", HTTP_X_FORWARDED_FOR="198.51.100.21").status_code == 401


@pytest.mark.parametrize("last", list(ENTRY_POINTS))
def test_every_entry_point_counts_toward_one_limit_per_address(last, buyer):
    others = [attempt for name, attempt in ENTRY_POINTS.items() if name != last]
    for i in range(limit("auth")):
        response = others[i % len(others)]()
        assert response.status_code != 429, (i, response.status_code)
    assert_throttled(last, ENTRY_POINTS[last]())


@pytest.mark.parametrize("last", ["api token", "signin page", "admin login"])
def test_failed_sign_ins_count_per_username_across_addresses(last, buyer, creator, password):
    for i in range(limit("auth_username")):
        response = api_post(
            "/api/auth/token",
            {"username": "BUYER" if i % 2 else "buyer", "password": "wrong-pass"},
            REMOTE_ADDR=f"192.0.2.{i + 1}",
        )
        assert response.status_code == 401
    fresh = {"REMOTE_ADDR": "198.51.100.99"}
    # Now even the right password is refused for that name, from an address never seen...
    if last == "api token":
        response = api_post("/api/auth/token", {"username": "buyer", "password": password}, **fresh)
    else:
        body = {"username": "buyer", "password": password, "next": "/admin/"}
        response = page_post(
            "/signin/" if last == "signin page" else "/admin/login/", body, **fresh
        )
    assert_throttled(last, response)
    # ...while another user signs in from that address as usual.
    other = api_post("/api/auth/token", {"username": "creator", "password": password}, **fresh)
    assert other.status_code == 200


def test_successful_sign_ins_do_not_count_per_username(buyer, password):
    for i in range(limit("auth_username") + 2):
        response = api_post(
            "/api/auth/token",
            {"username": "buyer", "password": password},
            REMOTE_ADDR=f"192.0.2.{i + 1}",
        )
        assert response.status_code == 200


def test_a_throttled_sign_in_page_says_so_in_the_form(buyer):
    for _ in range(limit("auth")):
        assert signin_attempt().status_code == 200  # the form again, with its error
    response = signin_attempt()
    assert_throttled("signin page", response)
    assert b'role="alert"' in response.content


def test_daphne_is_not_told_to_take_the_client_address_from_x_forwarded_for():
    # daphne's --proxy-headers takes the FIRST address of X-Forwarded-For (the client's own
    # text) as the socket address; the app reads the header itself (TRUSTED_PROXY_COUNT).
    from pathlib import Path

    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    assert "--proxy-headers" not in web
