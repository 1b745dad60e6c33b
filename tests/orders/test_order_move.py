"""PATCH /api/orders/{id}/status: the state machine, over every status x status x role."""

from __future__ import annotations

import itertools

import pytest

from orders.models import Order, OrderEvent
from tests.conftest import pay

pytestmark = pytest.mark.django_db

STATUSES = ["PENDING", "IN_PROGRESS", "DELIVERED", "COMPLETED", "CANCELLED"]
ROLES = ["buyer", "creator", "admin", "outsider"]

# Derived from issue 2, independently of orders.state: (from, to) -> party roles allowed.
RULES: dict[tuple[str, str], set[str]] = {
    ("PENDING", "IN_PROGRESS"): {"creator"},
    ("PENDING", "CANCELLED"): {"buyer", "creator"},
    ("IN_PROGRESS", "DELIVERED"): {"creator"},
    ("DELIVERED", "COMPLETED"): {"buyer"},
    ("DELIVERED", "IN_PROGRESS"): {"buyer"},
    ("IN_PROGRESS", "CANCELLED"): {"creator"},
}


def may(role: str, frm: str, to: str) -> bool:
    if (frm, to) not in RULES:
        return False
    return role == "admin" or role in RULES[(frm, to)]


def expected_allowed(role: str, frm: str) -> set[str]:
    return {to for to in STATUSES if may(role, frm, to)}


def expected_outcome(role: str, frm: str, to: str) -> tuple[int, str | None]:
    if role == "outsider":
        return 403, "not_a_party"
    if (frm, to) not in RULES:
        return 409, "invalid_transition"
    if may(role, frm, to):
        return 200, None
    return 403, "wrong_role"


@pytest.fixture
def users(buyer, creator, admin_user, outsider):
    return {"buyer": buyer, "creator": creator, "admin": admin_user, "outsider": outsider}


def test_the_rule_table_covers_the_full_matrix():
    cases = list(itertools.product(STATUSES, STATUSES, ROLES))
    assert len(cases) == 100
    outcomes = {expected_outcome(role, frm, to)[0] for frm, to, role in cases}
    assert outcomes == {200, 403, 409}


@pytest.mark.parametrize(("frm", "to", "role"), list(itertools.product(STATUSES, STATUSES, ROLES)))
def test_move_matrix(api, make_order, users, frm, to, role):
    order = make_order(frm)
    if frm == "PENDING":
        pay(order)  # an unpaid order cannot be accepted (issue 4: order_not_paid)
    events_before = OrderEvent.objects.filter(order=order).count()
    actor = users[role]

    response = api(actor).patch(
        f"/api/orders/{order.pk}/status", {"status": to, "note": "by the matrix"}, format="json"
    )

    status_code, code = expected_outcome(role, frm, to)
    assert response.status_code == status_code, response.content
    body = response.json()
    order.refresh_from_db()
    if status_code == 200:
        assert body["status"] == to
        assert order.status == to
        event = OrderEvent.objects.filter(order=order).order_by("-seq").first()
        assert (event.actor_id, event.from_status, event.to_status, event.note) == (
            actor.pk,
            frm,
            to,
            "by the matrix",
        )
        assert event.seq == events_before + 1 == order.last_seq
        assert set(body["allowed_moves"]) == expected_allowed(role, to)
    else:
        assert set(body) >= {"error", "code", "fields"}
        assert body["code"] == code
        assert body["error"]
        assert order.status == frm
        assert OrderEvent.objects.filter(order=order).count() == events_before
        if status_code == 409:
            assert set(body["allowed_moves"]) == expected_allowed(role, frm)


@pytest.mark.parametrize(("frm", "role"), list(itertools.product(STATUSES, ROLES[:3])))
def test_order_shows_the_callers_allowed_moves(api, make_order, users, frm, role):
    order = make_order(frm)
    if frm == "PENDING":
        pay(order)  # unpaid, nobody may accept: tests/orders/test_allowed_moves_guards.py
    response = api(users[role]).get(f"/api/orders/{order.pk}")
    assert response.status_code == 200
    assert set(response.json()["allowed_moves"]) == expected_allowed(role, frm)


def test_unknown_status_is_400(api, order, creator):
    response = api(creator).patch(
        f"/api/orders/{order.pk}/status", {"status": "SHIPPED"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "status" in response.json()["fields"]
    order.refresh_from_db()
    assert order.status == "PENDING"


def test_missing_status_is_400(api, order, creator):
    response = api(creator).patch(f"/api/orders/{order.pk}/status", {}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_echo_legacy_query_parameter_moves_the_order(api, paid_order, creator):
    order = paid_order
    response = api(creator).patch(f"/api/orders/{order.pk}/status?status=IN_PROGRESS")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "IN_PROGRESS"
    assert Order.objects.get(pk=order.pk).status == "IN_PROGRESS"


def test_legacy_query_parameter_is_checked_like_the_body(api, order, buyer):
    response = api(buyer).patch(f"/api/orders/{order.pk}/status?status=COMPLETED")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_move_on_unknown_order_is_404(api, creator):
    response = api(creator).patch("/api/orders/999999/status", {"status": "CANCELLED"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_anonymous_move_is_401(api, order):
    response = api(None).patch(f"/api/orders/{order.pk}/status", {"status": "CANCELLED"})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_note_longer_than_1000_characters_is_400(api, order, creator):
    response = api(creator).patch(
        f"/api/orders/{order.pk}/status",
        {"status": "IN_PROGRESS", "note": "x" * 1001},
        format="json",
    )
    assert response.status_code == 400
    assert "note" in response.json()["fields"]
    assert Order.objects.get(pk=order.pk).status == "PENDING"


def test_every_move_is_recorded_and_listed_by_events(api, paid_order, buyer, creator):
    order = paid_order
    api(creator).patch(
        f"/api/orders/{order.pk}/status", {"status": "IN_PROGRESS", "note": " accepted "}
    )
    api(creator).patch(f"/api/orders/{order.pk}/status", {"status": "DELIVERED"})
    api(buyer).patch(f"/api/orders/{order.pk}/status", {"status": "COMPLETED"})

    response = api(buyer).get(f"/api/orders/{order.pk}/events")

    assert response.status_code == 200
    body = response.json()
    rows = [
        (e["seq"], e["actor_id"], e["from_status"], e["to_status"], e["note"])
        for e in body["results"]
    ]
    assert rows == [
        (1, buyer.pk, "", "PENDING", ""),
        (2, creator.pk, "PENDING", "IN_PROGRESS", "accepted"),
        (3, creator.pk, "IN_PROGRESS", "DELIVERED", ""),
        (4, buyer.pk, "DELIVERED", "COMPLETED", ""),
    ]
    assert all(e["created_at"] for e in body["results"])
    assert body["last_seq"] == 4
    assert body["has_more"] is False

    after = api(creator).get(f"/api/orders/{order.pk}/events?after=2").json()
    assert [e["seq"] for e in after["results"]] == [3, 4]


def test_events_are_for_parties_and_admins_only(api, order, outsider, admin_user):
    assert api(outsider).get(f"/api/orders/{order.pk}/events").status_code == 403
    assert api(admin_user).get(f"/api/orders/{order.pk}/events").status_code == 200
    assert api(None).get(f"/api/orders/{order.pk}/events").status_code == 401
