"""Errors are JSON {error, code, fields} with the right status; paths with and without a slash."""

from __future__ import annotations

import pytest
from rest_framework.test import APIRequestFactory

from echo_site.errors import ErrorCode, ServiceError, api_exception_handler
from orders import selectors
from orders.models import Message, Order

pytestmark = pytest.mark.django_db

# Issue 2: 400 bad input, 401 not authenticated, 403 not allowed, 404 missing, 409 conflicts with
# the current state, 429 throttled.
EXPECTED_STATUS = {
    "invalid": 400,
    "parse_error": 400,
    "own_item": 400,
    "not_authenticated": 401,
    "authentication_failed": 401,
    "permission_denied": 403,
    "not_a_party": 403,
    "wrong_role": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "unsupported_media_type": 415,
    "invalid_transition": 409,
    "order_closed": 409,
    "order_not_completed": 409,
    "already_reviewed": 409,
    "throttled": 429,
    "server_error": 500,
    "service_unavailable": 503,
}


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"error", "code", "fields"}
    assert body["code"] == code
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["fields"], dict)
    return body


def test_issue_2_error_codes_all_exist():
    assert set(EXPECTED_STATUS) <= {str(code) for code in ErrorCode}


def render(code):
    request = APIRequestFactory().get("/api/orders")
    return api_exception_handler(
        ServiceError(code, "Something specific.", fields={"f": ["bad"]}), {"request": request}
    )


@pytest.mark.parametrize("code", sorted(EXPECTED_STATUS))
def test_each_error_code_renders_with_its_status(code):
    response = render(code)
    assert response.status_code == EXPECTED_STATUS[code]
    assert response.data == {"error": "Something specific.", "code": code, "fields": {"f": ["bad"]}}


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_renders_the_error_shape(code):
    response = render(code)
    assert 400 <= response.status_code < 600
    assert response.data == {
        "error": "Something specific.",
        "code": str(code),
        "fields": {"f": ["bad"]},
    }


# --- The same codes over HTTP ---------------------------------------------------------------------


def test_invalid(api, buyer):
    body = assert_error(api(buyer).post("/api/orders", {"item_id": "x"}), 400, "invalid")
    assert "item_id" in body["fields"]
    assert body["error"].startswith("item_id")


@pytest.mark.parametrize(
    "raw", [b"{not json", b'{"item_id": 1,}', b"\xff\xfe", b'{"final_price": NaN, "item_id": 1}']
)
def test_malformed_json_is_400_json(api, buyer, raw):
    response = api(buyer).generic("POST", "/api/orders", raw, content_type="application/json")
    assert_error(response, 400, "parse_error")


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"null", b"42"])
def test_json_that_is_not_an_object_is_400(api, buyer, order, raw):
    for path, method in (
        ("/api/orders", "POST"),
        (f"/api/orders/{order.pk}/status", "PATCH"),
        (f"/api/orders/{order.pk}/messages", "POST"),
        ("/api/reviews", "POST"),
        ("/api/items", "POST"),
    ):
        response = api(buyer).generic(method, path, raw, content_type="application/json")
        assert_error(response, 400, "invalid")


def test_not_authenticated_is_401(api, order):
    assert_error(api(None).get("/api/orders"), 401, "not_authenticated")


def test_authentication_failed_is_401(api):
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert_error(client.get("/api/orders"), 401, "authentication_failed")


def test_not_a_party_is_403_and_differs_from_401(api, order, outsider):
    assert_error(api(outsider).get(f"/api/orders/{order.pk}"), 403, "not_a_party")
    assert_error(api(None).get(f"/api/orders/{order.pk}"), 401, "not_authenticated")


def test_permission_denied(api, item, buyer):
    assert_error(api(buyer).delete(f"/api/items/{item.pk}"), 403, "permission_denied")


def test_wrong_role(api, order, buyer):
    body = assert_error(
        api(buyer).patch(f"/api/orders/{order.pk}/status", {"status": "IN_PROGRESS"}),
        403,
        "wrong_role",
    )
    assert body["allowed_moves"] == ["CANCELLED"]


def test_not_found(api, buyer):
    assert_error(api(buyer).get("/api/orders/31337"), 404, "not_found")


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "path", ["/api/nothing-here", "/api/orders/abc", "/api/orders/1/nope", "/api/"]
)
def test_unknown_api_url_is_a_json_404(api, buyer, settings, debug, path):
    settings.DEBUG = debug
    assert_error(api(buyer).get(path), 404, "not_found")


def test_method_not_allowed(api, buyer, order):
    assert_error(api(buyer).delete("/api/orders"), 405, "method_not_allowed")
    assert_error(api(buyer).put(f"/api/orders/{order.pk}", {}), 405, "method_not_allowed")
    assert_error(api(buyer).get(f"/api/orders/{order.pk}/status"), 405, "method_not_allowed")


def test_not_acceptable(api, buyer):
    response = api(buyer).get("/api/orders", HTTP_ACCEPT="text/html")
    assert_error(response, 406, "not_acceptable")


def test_unsupported_media_type(api, buyer, item):
    response = api(buyer).post("/api/orders", {"item_id": item.pk}, format="multipart")
    assert_error(response, 415, "unsupported_media_type")
    assert not Order.objects.exists()


def test_own_item(api, creator, item):
    assert_error(api(creator).post("/api/orders", {"item_id": item.pk}), 400, "own_item")


def test_invalid_transition(api, order, buyer):
    body = assert_error(
        api(buyer).patch(f"/api/orders/{order.pk}/status", {"status": "COMPLETED"}),
        409,
        "invalid_transition",
    )
    assert body["allowed_moves"] == ["CANCELLED"]


def test_order_closed(api, make_order, buyer):
    order = make_order("CANCELLED")
    response = api(buyer).post(f"/api/orders/{order.pk}/messages", {"content": "hi"})
    assert_error(response, 409, "order_closed")


def test_order_not_completed(api, order, buyer):
    response = api(buyer).post("/api/reviews", {"order_id": order.pk, "score": 5})
    assert_error(response, 409, "order_not_completed")


def test_already_reviewed(api, make_order, buyer):
    order = make_order("COMPLETED")
    api(buyer).post("/api/reviews", {"order_id": order.pk, "score": 5})
    response = api(buyer).post("/api/reviews", {"order_id": order.pk, "score": 5})
    assert_error(response, 409, "already_reviewed")


def test_throttled(api):
    client = api(None)
    for _ in range(50):
        response = client.post("/api/auth/token", {"username": "x", "password": "y"})
        if response.status_code == 429:
            break
    body = assert_error(response, 429, "throttled")
    assert body["error"]
    assert response.has_header("Retry-After")


@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_failure_is_a_json_500(api, buyer, order, monkeypatch, settings, debug):
    settings.DEBUG = debug

    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "order_get_for_user", boom)
    client = api(buyer)
    client.raise_request_exception = False
    body = assert_error(client.get(f"/api/orders/{order.pk}"), 500, "server_error")
    assert "boom" not in body["error"]


# --- Trailing slashes -------------------------------------------------------------------------


def test_paths_work_with_and_without_a_trailing_slash(api, buyer, creator, item):
    client = api(buyer)
    assert client.get("/api/items").status_code == 200
    assert client.get("/api/items/").status_code == 200
    assert client.get(f"/api/items/{item.pk}/").status_code == 200

    placed = client.post("/api/orders/", {"item_id": item.pk})
    assert placed.status_code == 201, placed.content
    order_id = placed.json()["id"]
    assert client.get(f"/api/orders/{order_id}/").status_code == 200

    posted = client.post(f"/api/orders/{order_id}/messages/", {"content": "slash"})
    assert posted.status_code == 201
    posted = client.post("/api/order-messages/", {"order_id": order_id, "content": "again"})
    assert posted.status_code == 201
    assert Message.objects.count() == 2

    # The buyer pays first: an unpaid order cannot be accepted (issue 4).
    assert client.post(f"/api/orders/{order_id}/payment/").status_code == 201
    moved = api(creator).patch(f"/api/orders/{order_id}/status/", {"status": "IN_PROGRESS"})
    assert moved.status_code == 200
    assert Order.objects.get(pk=order_id).status == "IN_PROGRESS"
    assert client.get(f"/api/orders/{order_id}/events/").status_code == 200
    assert client.get("/api/auth/me/").status_code == 200


def test_every_error_code_is_documented_for_clients() -> None:
    """The enum is the list of codes the API and the protocol emit (services and frame errors
    take an ErrorCode, mypy-checked; the REST handler maps anything else to `invalid`), and
    client developers find each one in docs/api.md or docs/websocket-protocol.md."""
    from pathlib import Path

    from echo_site.errors import ErrorCode

    docs = Path(__file__).resolve().parents[2] / "docs"
    text = (docs / "api.md").read_text() + (docs / "websocket-protocol.md").read_text()
    assert [code.value for code in ErrorCode if f"`{code.value}`" not in text] == []


def test_an_unknown_drf_code_is_rendered_as_invalid(rf) -> None:
    from rest_framework import exceptions

    from echo_site.errors import api_exception_handler

    class Odd(exceptions.APIException):
        status_code = 400
        default_code = "something_odd"

    response = api_exception_handler(Odd("odd"), {"request": rf.get("/api/x")})
    assert response.data["code"] == "invalid"
