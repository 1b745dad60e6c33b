"""Walk the authorization matrix (tests/security/authz_matrix.py); check it covers every route."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import caches
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver
from rest_framework.test import APIClient
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from chat.routing import websocket_urlpatterns
from echo_site import urls as site_urls
from echo_site.asgi import application
from tests.conftest import pay
from tests.factories import ItemFactory, UserFactory

from .authz_matrix import HELLO, NOT_IN_TABLE, PAGES, REST, ROLES, TABLE, WEBSOCKETS, Row

PASSWORD = "a-Strong-pass-42"


def build_world() -> dict[str, Any]:
    from disputes import services as dispute_services
    from orders import deliveries, services
    from orders.attachments.services import attachment_upload

    users = {
        "buyer": UserFactory(username="mx_buyer"),
        "creator": UserFactory(username="mx_creator"),
        "outsider": UserFactory(username="mx_outsider"),
        "admin": UserFactory(username="mx_admin", is_staff=True, is_superuser=True),
    }
    buyer, creator = users["buyer"], users["creator"]

    def new_order(*moves: str, paid: bool = False) -> Any:
        order = services.order_place(
            buyer=buyer, item=ItemFactory(creator=creator, base_price=Decimal("80.00"))
        )
        if paid:
            pay(order)
        for to_status in moves:
            actor = buyer if to_status == "COMPLETED" else creator
            services.order_move(order=order, actor=actor, to_status=to_status)
        return order

    disputed = new_order("IN_PROGRESS", paid=True)
    # A delivery awaiting the buyer's answer, on an order with one revision round.
    delivered = new_order("IN_PROGRESS", paid=True)
    type(delivered).objects.filter(pk=delivered.pk).update(revisions_included=1)
    delivered.refresh_from_db()
    delivery = deliveries.delivery_submit(order=delivered, creator=creator, message="Done.")
    # A file the buyer sent with a message on `order`.
    attachment = attachment_upload(
        order=delivered, uploader=buyer, stream=io.BytesIO(b"%PDF-1.4 matrix"), name="m.pdf"
    )
    services.message_post(
        order=delivered, sender=buyer, content="f", attachment_ids=[attachment.pk]
    )
    return {
        "delivered_order": delivered,
        "delivery": delivery,
        "attachment": attachment,
        "file_token": SimpleNamespace(pk="not-a-signed-link"),
        "users": users,
        "password": PASSWORD,
        "creator": creator,
        "item": ItemFactory(creator=creator),
        "order": new_order(),
        "paid_order": new_order(paid=True),
        "active_order": new_order("IN_PROGRESS", paid=True),
        "completed_order": new_order("IN_PROGRESS", "DELIVERED", "COMPLETED", paid=True),
        "dispute": dispute_services.dispute_open(
            order=disputed, opened_by=buyer, reason="The work has stopped for weeks."
        ),
    }


def concrete_path(row: Row, world: dict[str, Any]) -> str:
    path = row.path
    for name, key in row.ids.items():
        path = path.replace("{" + name + "}", str(world[key].pk))
    assert "{" not in path, f"{row.label}: no id for {path}"
    return path


def http_call(row: Row, role: str, world: dict[str, Any]) -> int:
    user = world["users"].get(role)
    path = concrete_path(row, world)
    body = row.body(world, role) if row.body else None
    if row.session:
        client: Any = Client()
        if user is not None:
            client.force_login(user)
        response = client.generic(row.method, path)
    else:
        client = APIClient()
        headers = {}
        if user is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {AccessToken.for_user(user)}"
        response = client.generic(
            row.method,
            path,
            data="" if body is None else __import__("json").dumps(body),
            content_type="application/json",
            **headers,
        )
    return int(response.status_code)


@pytest.mark.django_db
def test_every_http_row_gives_the_expected_status_for_every_role():
    world = build_world()
    wrong = []
    for row in [*REST, *PAGES]:
        for role in ROLES:
            for each in caches.all():  # throttles and tickets: each call starts clean
                each.clear()
            with transaction.atomic():
                got = http_call(row, role, world)
                transaction.set_rollback(True)  # the next call sees the same world
            if got != row.expect[role]:
                wrong.append(f"{row.label} as {role}: expected {row.expect[role]}, got {got}")
    assert not wrong, "\n".join(wrong)


async def ws_outcome(path: str, user: Any) -> int | str:
    headers = [] if user is None else [(b"authorization", f"Bearer {AccessToken.for_user(user)}")]
    comm = WebsocketCommunicator(application, path, headers=[(k, v.encode()) for k, v in headers])
    connected, code = await comm.connect(timeout=5)
    try:
        if not connected:
            return int(code or 0)
        message = await comm.receive_output(timeout=5)
        if message["type"] == "websocket.close":
            return int(message.get("code", 1000))
        frame = __import__("json").loads(message["text"])
        return str(frame["type"])
    finally:
        await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_every_websocket_row_gives_the_expected_close_code_for_every_role():
    from chat import presence

    world = await sync_to_async(build_world)()
    wrong = []
    for row in WEBSOCKETS:
        for role in ROLES:
            presence.reset_store()
            got = await ws_outcome(concrete_path(row, world), world["users"].get(role))
            if got != row.expect[role]:
                wrong.append(f"{row.label} as {role}: expected {row.expect[role]}, got {got}")
    assert not wrong, "\n".join(wrong)


# --- Every route has a row ----------------------------------------------------------------------


def _template(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def http_routes(patterns: list[Any] = site_urls.urlpatterns, prefix: str = "") -> set[str]:
    """Every (METHOD path) the site serves; plain Django views as (ANY path)."""
    found: set[str] = set()
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route == "admin/":
                found.add(f"ANY {_template(route)}")  # its inner pages: see NOT_IN_TABLE
                continue
            found |= http_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            view_cls = getattr(entry.callback, "cls", None)
            if view_cls is not None and issubclass(view_cls, APIView):
                for method in view_cls.http_method_names:
                    if method not in ("options", "head") and hasattr(view_cls, method):
                        found.add(f"{method.upper()} {_template(route)}")
            else:
                found.add(f"ANY {_template(route)}")
    return found


def test_every_http_route_has_a_row():
    rows = {row.label for row in TABLE}
    paths = {row.path for row in TABLE}
    missing = sorted(
        route
        for route in http_routes()
        if (route.startswith("ANY ") and route[4:] not in paths)
        or (not route.startswith("ANY ") and route not in rows)
    )
    assert not missing, f"routes without a row in tests/security/authz_matrix.py: {missing}"
    assert "/admin/*" in NOT_IN_TABLE


def test_every_websocket_route_has_a_row():
    routes = {f"WS {_template(str(p.pattern))}" for p in websocket_urlpatterns}
    rows = {row.label for row in WEBSOCKETS}
    assert routes - rows == set(), f"websocket routes without a row: {sorted(routes - rows)}"


def test_the_table_has_no_stale_rows():
    served = http_routes() | {f"WS {_template(str(p.pattern))}" for p in websocket_urlpatterns}
    served_paths = {route.split(" ", 1)[1] for route in served}
    stale = [row.label for row in TABLE if row.label not in served and row.path not in served_paths]
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_every_row_names_every_role():
    for row in TABLE:
        assert set(row.expect) == set(ROLES), row.label
    assert HELLO == "hello"
