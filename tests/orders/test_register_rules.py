"""One registration path (issue 15 item 3): the page and POST /api/auth/register call
`services.user_register` and answer by the same rules."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "a-Strong-pass-42"


def via_api(username: str, email: str) -> tuple[bool, str]:
    client = APIClient()
    client.default_format = "json"
    response = client.post(
        "/api/auth/register", {"username": username, "email": email, "password": PASSWORD}
    )
    if response.status_code == 201:
        return True, ""
    assert response.status_code == 400, response.content
    return False, " ".join(response.json()["fields"].get("username", []))


def via_page(username: str, email: str) -> tuple[bool, str]:
    response = Client().post(
        "/register/", {"username": username, "email": email, "password": PASSWORD}
    )
    if response.status_code == 302:
        return True, ""
    assert response.status_code == 200
    errors = re.search(rb'id="err-username">([^<]*)<', response.content)
    return False, errors.group(1).decode() if errors else ""


@pytest.fixture(params=["api", "page"])
def register(request):
    return via_api if request.param == "api" else via_page


def test_usernames_are_stored_nfkc_normalised(register):
    ok, _ = register("\uff4d\uff41\uff52\uff49\uff41", "maria@example.com")  # fullwidth "maria"
    assert ok
    assert User.objects.filter(username="maria").exists()


@pytest.mark.parametrize(
    "name",
    [
        "ma\u200bria",  # zero-width space
        "ma\u200dria",  # zero-width joiner
        "\u202eairam",  # right-to-left override
        "ma\u2066ria\u2069",  # isolates
        "ma\x07ria",  # control
        "ma\u00adria",  # soft hyphen
        "ma ria",
    ],
)
def test_invisible_control_and_direction_characters_are_refused(register, name):
    ok, error = register(name, "maria@example.com")
    assert not ok
    assert "Invisible" in error
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "name",
    [
        "buyer",
        "BUYER",
        "bu\u0443er",  # Cyrillic u
        "b\u03c5yer",  # Greek upsilon
        "\u13cfuyer",  # Cherokee letter si, looks like b
        "buy\u0435r",  # Cyrillic ie
    ],
)
def test_names_confusable_with_an_existing_one_are_refused(register, buyer, name):
    ok, error = register(name, "new@example.com")
    assert not ok
    assert "taken" in error
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "existing, new", [("alice", "aIice"), ("alice", "a1ice"), ("modern", "rnodern")]
)
def test_skeletons_catch_lookalike_latin_letters(register, existing, new):
    UserFactory(username=existing)
    ok, error = register(new, "new@example.com")
    assert not ok and "taken" in error


def test_a_name_that_only_shares_letters_is_fine(register, buyer):
    ok, _ = register("buyers", "new@example.com")
    assert ok


def test_an_existing_name_that_breaks_the_rules_still_signs_in(password):
    UserFactory(username="old\u200bname", password=password)
    client = APIClient()
    client.default_format = "json"
    response = client.post("/api/auth/token", {"username": "old\u200bname", "password": password})
    assert response.status_code == 200


def test_a_taken_email_gets_the_same_page_answer_as_a_free_one(buyer):
    taken = Client().post(
        "/register/", {"username": "first", "email": buyer.email, "password": PASSWORD}
    )
    free = Client().post(
        "/register/", {"username": "second", "email": "free@example.com", "password": PASSWORD}
    )
    assert taken.status_code == free.status_code == 302
    assert taken["Location"] == free["Location"]
    assert User.objects.filter(email__iexact=buyer.email).count() == 1
