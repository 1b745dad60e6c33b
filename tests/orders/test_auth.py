"""Auth: register, JWT tokens, me, throttling, and the browser session with CSRF."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

User = get_user_model()


def auth_limit() -> int:
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"]
    return int(rate.split("/")[0])


def anon() -> APIClient:
    client = APIClient()
    client.default_format = "json"
    return client


def test_register_creates_a_user(password):
    response = anon().post(
        "/api/auth/register",
        {"username": "newbie", "password": password, "email": "New@Example.com"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["username"] == "newbie"
    assert body["email"] == "new@example.com"
    assert "password" not in body
    user = User.objects.get(username="newbie")
    assert user.check_password(password)
    assert not user.is_staff


@pytest.mark.parametrize(
    "password",
    ["short1", "password123", "12345678901", "newbie-user"],
    ids=["too-short", "common", "numeric", "like-username"],
)
def test_register_validates_the_password(password):
    response = anon().post(
        "/api/auth/register",
        {"username": "newbie-user", "password": password, "email": "n@example.com"},
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert "password" in response.json()["fields"]
    assert not User.objects.filter(username="newbie-user").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "email": "a@example.com"},
        {"username": "has space", "email": "a@example.com"},
        {"username": "fine", "email": "not-an-email"},
        {"email": "a@example.com"},
        {"username": "fine"},
    ],
)
def test_register_validates_username_and_email(body, password):
    response = anon().post("/api/auth/register", {**body, "password": password})
    assert response.status_code == 400
    assert response.json()["fields"]


def test_register_refuses_a_taken_username(buyer, password):
    taken_name = anon().post(
        "/api/auth/register",
        {"username": "BUYER", "password": password, "email": "other@example.com"},
    )
    assert taken_name.status_code == 400
    assert "username" in taken_name.json()["fields"]
    assert User.objects.count() == 1


def test_register_does_not_tell_whether_an_email_is_registered(buyer, password):
    # Issue 15 item 3 (changed from "a taken email is a 400 on the email field"): a taken
    # address answers exactly like a free one, and stays attached to its owner only.
    taken = anon().post(
        "/api/auth/register",
        {"username": "other", "password": password, "email": buyer.email.upper()},
    )
    free = anon().post(
        "/api/auth/register",
        {"username": "another", "password": password, "email": "free@example.com"},
    )
    assert taken.status_code == free.status_code == 201
    assert set(taken.json()) == set(free.json())
    assert taken.json()["email"] == buyer.email.lower()
    assert User.objects.filter(email__iexact=buyer.email).count() == 1
    assert User.objects.get(username="other").check_password(password)


def test_token_refresh_and_me(buyer, password):
    client = anon()
    tokens = client.post("/api/auth/token", {"username": "buyer", "password": password})
    assert tokens.status_code == 200, tokens.content
    assert set(tokens.json()) >= {"access", "refresh"}

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["id"] == buyer.pk
    assert me.json()["username"] == "buyer"

    refreshed = anon().post("/api/auth/token/refresh", {"refresh": tokens.json()["refresh"]})
    assert refreshed.status_code == 200
    new_access = refreshed.json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new_access}")
    assert client.get("/api/auth/me").json()["id"] == buyer.pk


def test_wrong_password_is_401(buyer):
    response = anon().post("/api/auth/token", {"username": "buyer", "password": "nope-nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert "access" not in response.json()


def test_bad_refresh_token_is_401():
    response = anon().post("/api/auth/token/refresh", {"refresh": "not.a.token"})
    assert response.status_code == 401
    assert set(response.json()) >= {"error", "code", "fields"}


def test_garbage_bearer_token_is_401(buyer):
    client = anon()
    client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_me_without_credentials_is_401():
    response = anon().get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.has_header("WWW-Authenticate")


def test_login_is_throttled_with_retry_after(buyer):
    client = anon()
    for _ in range(auth_limit()):
        response = client.post("/api/auth/token", {"username": "buyer", "password": "wrong"})
        assert response.status_code == 401
    throttled = client.post("/api/auth/token", {"username": "buyer", "password": "wrong"})
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0


def test_registration_is_throttled_with_retry_after(password):
    client = anon()
    for n in range(auth_limit()):
        response = client.post(
            "/api/auth/register",
            {"username": f"user-{n}", "password": password, "email": f"u{n}@example.com"},
        )
        assert response.status_code == 201
    throttled = client.post(
        "/api/auth/register",
        {"username": "one-more", "password": password, "email": "more@example.com"},
    )
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert not User.objects.filter(username="one-more").exists()


@pytest.fixture
def browser(buyer, password) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="buyer", password=password)
    return client


def test_session_reads_without_csrf(browser, buyer):
    response = browser.get("/api/auth/me")
    assert response.status_code == 200
    assert response.json()["id"] == buyer.pk


def test_session_write_without_csrf_token_is_403(browser, item):
    response = browser.post("/api/orders", {"item_id": item.pk}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["error"]


def test_session_write_with_csrf_token_from_the_cookie(browser, buyer, item):
    token = browser.get("/api/auth/me").cookies["csrftoken"].value
    response = browser.post(
        "/api/orders", {"item_id": item.pk}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content
    assert response.json()["buyer_id"] == buyer.pk


def test_session_with_a_wrong_csrf_token_is_403(browser, item):
    browser.get("/api/auth/me")
    response = browser.post(
        "/api/orders", {"item_id": item.pk}, format="json", HTTP_X_CSRFTOKEN="x" * 32
    )
    assert response.status_code == 403
