"""Who may do what: ONE table for every REST operation, page and websocket route.

Each row: method, path template, the ids and body to use, and the expected answer for each of
{anonymous, buyer, creator, outsider (an unrelated user), admin}: an HTTP status, or for websockets
"hello" (accepted, the first frame) or a close code (4401 not authenticated, 4403 not allowed).

The world every row runs against (fresh for each row and role; see test_authz_matrix.py):
  item            a listing of the creator's
  order           PENDING, unpaid, buyer -> creator
  paid_order      PENDING, paid
  active_order    IN_PROGRESS, paid, no dispute
  completed_order COMPLETED, paid, not reviewed
  dispute         OPEN, on its own IN_PROGRESS order, opened by the buyer
  delivered_order DELIVERED (one revision round), with `delivery` awaiting the buyer
  attachment      a file the buyer sent in a message on delivered_order

A new route without a row here fails tests/security/test_authz_matrix.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = ("anonymous", "buyer", "creator", "outsider", "admin")
HELLO = "hello"


@dataclass(frozen=True)
class Row:
    method: str  # GET, POST, PATCH, DELETE, or WS
    path: str  # the route's template, as the resolver spells it: /api/orders/{order_id}
    expect: dict[str, int | str]
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> world key
    body: Callable[[dict[str, Any], str], Any] | None = None  # (world, role) -> JSON body
    session: bool = False  # a browser page: log in with the session cookie, not a JWT

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def by_role(anonymous: Any, buyer: Any, creator: Any, outsider: Any, admin: Any) -> dict[str, Any]:
    return dict(zip(ROLES, (anonymous, buyer, creator, outsider, admin), strict=True))


def everyone(value: Any) -> dict[str, Any]:
    return dict.fromkeys(ROLES, value)


def signed_in(value: Any, anonymous: Any = 401) -> dict[str, Any]:
    return {**everyone(value), "anonymous": anonymous}


PARTIES_AND_ADMIN = by_role(401, 200, 200, 403, 200)
ORDER = {"order_id": "order"}
DISPUTE = {"dispute_id": "dispute"}
ATTACHMENT = {"attachment_id": "attachment"}
DELIVERY = {"order_id": "delivered_order", "delivery_id": "delivery"}


def _password(world: dict[str, Any], role: str) -> str:
    return str(world["password"])


def _credentials(world: dict[str, Any], role: str) -> dict[str, str]:
    if role == "anonymous":
        return {"username": "nobody", "password": "not-the-password"}
    return {"username": world["users"][role].username, "password": _password(world, role)}


def _refresh(world: dict[str, Any], role: str) -> dict[str, str]:
    from rest_framework_simplejwt.tokens import RefreshToken

    if role == "anonymous":
        return {"refresh": "not-a-token"}
    return {"refresh": str(RefreshToken.for_user(world["users"][role]))}


REST: list[Row] = [
    # --- Auth --------------------------------------------------------------------------------
    Row(
        "POST",
        "/api/auth/register",
        everyone(201),
        body=lambda w, role: {
            "username": f"new_{role}",
            "email": f"new_{role}@example.com",
            "password": "Sturdy-horse-battery-17",
        },
    ),
    Row("POST", "/api/auth/token", signed_in(200), body=_credentials),
    Row("POST", "/api/auth/token/refresh", signed_in(200), body=_refresh),
    Row("GET", "/api/auth/me", signed_in(200)),
    Row("POST", "/api/auth/logout", signed_in(204), body=lambda w, r: {}),
    Row("POST", "/api/ws-ticket", signed_in(200)),
    Row("GET", "/api/schema", everyone(200)),
    Row("GET", "/api/asyncapi.json", everyone(200)),
    Row("GET", "/api/docs", everyone(200)),
    Row("GET", "/healthz", everyone(200)),
    # --- Listings ----------------------------------------------------------------------------
    Row("GET", "/api/items", everyone(200)),
    Row(
        "POST",
        "/api/items",
        signed_in(201),
        body=lambda w, r: {"title": "A new listing", "base_price": "10.00", "item_type": "SERVICE"},
    ),
    Row("GET", "/api/items/{item_id}", everyone(200), ids={"item_id": "item"}),
    Row(
        "PATCH",
        "/api/items/{item_id}",
        by_role(401, 403, 200, 403, 200),  # the creator, or an admin moderating (docs/api.md)
        ids={"item_id": "item"},
        body=lambda w, r: {"title": "Renamed listing"},
    ),
    Row(
        "DELETE", "/api/items/{item_id}", by_role(401, 403, 204, 403, 204), ids={"item_id": "item"}
    ),
    # --- Orders ------------------------------------------------------------------------------
    Row("GET", "/api/orders", signed_in(200)),
    Row(
        "POST",
        "/api/orders",
        by_role(401, 201, 400, 201, 201),  # the creator may not order their own listing
        body=lambda w, r: {"item_id": w["item"].pk},
    ),
    Row("GET", "/api/orders/{order_id}", PARTIES_AND_ADMIN, ids=ORDER),
    Row(
        "PATCH",
        "/api/orders/{order_id}/status",
        by_role(401, 200, 200, 403, 200),
        ids=ORDER,
        body=lambda w, r: {"status": "CANCELLED", "note": "matrix"},
    ),
    Row("GET", "/api/orders/{order_id}/events", PARTIES_AND_ADMIN, ids=ORDER),
    Row("GET", "/api/orders/{order_id}/messages", PARTIES_AND_ADMIN, ids=ORDER),
    Row(
        "POST",
        "/api/orders/{order_id}/messages",
        by_role(401, 201, 201, 403, 403),  # admins read order threads, they do not post
        ids=ORDER,
        body=lambda w, r: {"content": "hello"},
    ),
    Row(
        "POST",
        "/api/order-messages",
        by_role(401, 201, 201, 403, 403),
        body=lambda w, r: {"order_id": w["order"].pk, "content": "hello"},
    ),
    Row(
        "GET",
        "/api/orders/{order_id}/payment",
        PARTIES_AND_ADMIN,
        ids={"order_id": "paid_order"},
    ),
    Row("POST", "/api/orders/{order_id}/payment", by_role(401, 201, 403, 403, 403), ids=ORDER),
    Row("POST", "/api/payments/connect", signed_in(200)),
    # Stripe's deliveries: no session, no JWT; an unsigned one is refused whoever sends it.
    Row("POST", "/api/payments/webhook", everyone(400), body=lambda w, r: {"id": "evt_1"}),
    # --- Files and deliveries ------------------------------------------------------------------
    # Uploads are multipart: a request without a file gets past authorization to 400 (the
    # upload rules themselves: tests/orders/test_attachments.py).
    Row("POST", "/api/orders/{order_id}/attachments", by_role(401, 400, 400, 403, 400), ids=ORDER),
    Row("GET", "/api/attachments/{attachment_id}", PARTIES_AND_ADMIN, ids=ATTACHMENT),
    Row(
        "GET",
        "/api/attachments/{attachment_id}/download",
        by_role(401, 302, 302, 403, 302),
        ids=ATTACHMENT,
    ),
    # A signed link is its own credential; a forged one is unknown to everyone.
    Row("GET", "/api/files/{token}", everyone(404), ids={"token": "file_token"}),
    Row("GET", "/api/orders/{order_id}/deliveries", PARTIES_AND_ADMIN, ids=ORDER),
    Row(
        "POST",
        "/api/orders/{order_id}/deliveries",
        by_role(401, 403, 201, 403, 403),  # the creator delivers
        ids={"order_id": "active_order"},
        body=lambda w, r: {"message": "Here it is."},
    ),
    Row(
        "POST",
        "/api/orders/{order_id}/deliveries/{delivery_id}/accept",
        by_role(401, 200, 403, 403, 200),  # the buyer answers (admins may make any move)
        ids=DELIVERY,
    ),
    Row(
        "POST",
        "/api/orders/{order_id}/deliveries/{delivery_id}/revision",
        by_role(401, 200, 403, 403, 200),
        ids=DELIVERY,
        body=lambda w, r: {"reason": "Brighter, please."},
    ),
    Row(
        "POST",
        "/api/orders/{order_id}/revisions/grant",
        by_role(401, 403, 201, 403, 403),  # the creator grants rounds
        ids={"order_id": "delivered_order"},
        body=lambda w, r: {"count": 1},
    ),
    # --- Reviews -----------------------------------------------------------------------------
    Row(
        "POST",
        "/api/reviews",
        by_role(401, 201, 403, 403, 403),
        body=lambda w, r: {"order_id": w["completed_order"].pk, "score": 5},
    ),
    Row("GET", "/api/reviews/user/{user_id}", everyone(200), ids={"user_id": "creator"}),
    Row("GET", "/api/reviews/user/{user_id}/average", everyone(200), ids={"user_id": "creator"}),
    Row(
        "GET",
        "/api/reviews/order/{order_id}",
        PARTIES_AND_ADMIN,
        ids={"order_id": "completed_order"},
    ),
    # --- Disputes ----------------------------------------------------------------------------
    Row("GET", "/api/disputes", signed_in(200)),
    Row(
        "POST",
        "/api/disputes",
        by_role(401, 201, 201, 403, 403),  # the parties open disputes; admins mediate them
        body=lambda w, r: {"order_id": w["active_order"].pk, "reason": "Not what we agreed on."},
    ),
    Row("GET", "/api/disputes/open", by_role(401, 403, 403, 403, 200)),
    Row("GET", "/api/disputes/user/my-disputes", signed_in(200)),
    Row("GET", "/api/disputes/order/{order_id}", PARTIES_AND_ADMIN, ids=ORDER),
    Row("GET", "/api/disputes/{dispute_id}", PARTIES_AND_ADMIN, ids=DISPUTE),
    Row(
        "POST",
        "/api/disputes/{dispute_id}/messages",
        by_role(401, 201, 201, 403, 201),  # admins mediate in the dispute thread
        ids=DISPUTE,
        body=lambda w, r: {"content": "my side"},
    ),
    Row(
        "PATCH",
        "/api/disputes/{dispute_id}/close",
        by_role(401, 403, 403, 403, 200),
        ids=DISPUTE,
        body=lambda w, r: {"resolution": "Carry on.", "outcome": "RESUME"},
    ),
    # Notification preferences and push (notify/): every signed-in user, for themselves only.
    Row("GET", "/api/me/notifications", signed_in(200)),
    Row(
        "PATCH", "/api/me/notifications", signed_in(200), body=lambda w, r: {"email_enabled": True}
    ),
    Row(
        "POST",
        "/api/me/push-subscriptions",
        signed_in(201),
        body=lambda w, r: {
            "endpoint": f"https://push.example.net/{r}",
            "keys": {"p256dh": "BKey", "auth": "secret"},
        },
    ),
    Row(
        "DELETE",
        "/api/me/push-subscriptions",
        signed_in(204),
        body=lambda w, r: {"endpoint": f"https://push.example.net/{r}"},
    ),
    Row("GET", "/api/me/push-key", signed_in(200)),
]

# Browser pages (session cookie). Anonymous visitors of a private page go to the sign-in page.
PAGES: list[Row] = [
    Row("GET", "/", everyone(200), session=True),
    Row("GET", "/signin/", {**everyone(302), "anonymous": 200}, session=True),
    Row("POST", "/signout/", everyone(302), session=True),
    Row("GET", "/register/", everyone(200), session=True),
    Row("GET", "/orders/", signed_in(200, anonymous=302), session=True),
    Row("GET", "/orders/{order_id}/", by_role(302, 200, 200, 403, 200), ids=ORDER, session=True),
    Row(
        "GET",
        "/disputes/{dispute_id}/",
        by_role(302, 200, 200, 403, 200),
        ids=DISPUTE,
        session=True,
    ),
    Row("GET", "/desk/", by_role(302, 403, 403, 403, 200), session=True),
    Row("GET", "/settings/notifications", signed_in(200, anonymous=302), session=True),
    # One-click unsubscribe: no login, the signed token decides (an order id is no token: 404).
    Row("GET", "/unsubscribe/{token}/", everyone(404), ids={"token": "order"}, session=True),
    # The push service worker, at the root so that its scope covers the site.
    Row("GET", "/sw.js", everyone(200), session=True),
    # The Django admin site: staff only (its own permission checks cover its inner pages).
    Row("GET", "/admin/", by_role(302, 302, 302, 302, 200), session=True),
    # Its login page, routed through the shared sign-in throttle: staff already signed in go on.
    Row("GET", "/admin/login/", by_role(200, 200, 200, 200, 302), session=True),
]

WEBSOCKETS: list[Row] = [
    Row("WS", "/ws/orders/{order_id}/", by_role(4401, HELLO, HELLO, 4403, HELLO), ids=ORDER),
    Row("WS", "/ws/notifications/", signed_in(HELLO, anonymous=4401)),
    Row("WS", "/ws/disputes/{dispute_id}/", by_role(4401, HELLO, HELLO, 4403, HELLO), ids=DISPUTE),
    Row("WS", "/ws/admin/disputes/", by_role(4401, 4403, 4403, 4403, HELLO)),
]

TABLE: list[Row] = [*REST, *PAGES, *WEBSOCKETS]

# Routes the table leaves out on purpose, with the reason.
NOT_IN_TABLE = {
    "/admin/*": "the Django admin's inner pages: its own staff and model permissions; the "
    "entry page is in the table",
}
