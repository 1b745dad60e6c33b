"""The OpenAPI 3 schema and the interactive docs."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

MAIN_PATHS = {
    "/api/auth/register",
    "/api/auth/token",
    "/api/auth/token/refresh",
    "/api/auth/me",
    "/api/items",
    "/api/items/{item_id}",
    "/api/orders",
    "/api/orders/{order_id}",
    "/api/orders/{order_id}/status",
    "/api/orders/{order_id}/events",
    "/api/orders/{order_id}/messages",
    "/api/order-messages",
    "/api/reviews",
    "/api/reviews/user/{user_id}",
    "/api/reviews/user/{user_id}/average",
    "/api/reviews/order/{order_id}",
}


@pytest.fixture
def schema():
    response = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_openapi_3_listing_the_main_paths(schema):
    assert schema["openapi"].startswith("3.")
    assert MAIN_PATHS <= set(schema["paths"])


def test_schema_documents_the_methods(schema):
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/orders"])
    assert "patch" in paths["/api/orders/{order_id}/status"]
    assert {"get", "post"} <= set(paths["/api/orders/{order_id}/messages"])
    assert {"get", "patch", "delete"} <= set(paths["/api/items/{item_id}"])


def resolve(schema, ref_or_schema):
    ref = ref_or_schema.get("$ref")
    if ref is None:
        return ref_or_schema
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def response_schema(schema, path, method, status="200"):
    content = schema["paths"][path][method]["responses"][status]["content"]
    return resolve(schema, content["application/json"]["schema"])


@pytest.mark.parametrize("path", ["/api/orders", "/api/items", "/api/reviews/user/{user_id}"])
def test_paginated_lists_are_documented_as_pages(schema, path):
    page = response_schema(schema, path, "get")
    assert {"count", "next", "previous", "results"} <= set(page["properties"])


def test_order_fields_are_documented(schema):
    order = response_schema(schema, "/api/orders/{order_id}", "get")
    assert {
        "id",
        "buyer_id",
        "creator_id",
        "item_id",
        "item_title",
        "final_price",
        "status",
        "created_at",
        "updated_at",
        "allowed_moves",
    } <= set(order["properties"])


def test_error_responses_are_documented(schema):
    responses = schema["paths"]["/api/orders/{order_id}/status"]["patch"]["responses"]
    assert {"400", "403", "404", "409"} <= set(responses)


def test_the_schema_is_public_and_the_docs_answer(client):
    assert APIClient().get("/api/schema/").status_code == 200
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_api_docs_load_swagger_ui_from_this_server_not_a_cdn(client):
    page = client.get("/api/docs").content.decode()
    assert "cdn.jsdelivr.net" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    from django.contrib.staticfiles import finders

    # Shipped as a static file of this app (served by WhiteNoise; collected in production).
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
