"""Pages of the browser app: authenticate, read through selectors, render.

Every write happens in the browser through the same REST API and websockets as any other client;
the only write here is registering, which calls `orders.services.user_register`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from types import SimpleNamespace
from typing import Any, cast

from csp.decorators import csp_update
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.utils.encoders import JSONEncoder

from disputes import selectors as dispute_selectors
from disputes.models import DisputeOutcome
from disputes.selectors import dispute_allowed_outcomes
from disputes.serializers import DisputeSerializer
from echo_site.errors import ServiceError
from echo_site.throttling import page_gate
from orders import selectors, services
from orders.models import ItemType, OrderStatus
from orders.serializers import (
    DeliverySerializer,
    ItemFilterSerializer,
    ItemSerializer,
    MessageSerializer,
    OrderEventSerializer,
    OrderSerializer,
    ReviewSerializer,
)
from orders.state import viewer_role
from payments.selectors import (
    money_needing_admin,
    payment_for_order,
    payments_simulated,
    platform_fee_percent,
    refund_room,
)
from payments.serializers import PaymentSerializer

SIGN_IN = "/signin/"
HISTORY_PAGE = 50


def _json(data: Any) -> Any:
    """Round-trip through JSON so json_script sees plain values (decimals and times as strings)."""
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _as_request(user: Any) -> SimpleNamespace:
    return SimpleNamespace(user=user)


def page_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A selector's refusal (not found, not a party) as an HTML page with its status."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ServiceError as exc:
            return render(
                request,
                "frontend/error.html",
                {"message": exc.message, "status": exc.http_status},
                status=exc.http_status,
            )

    return wrapper


# --- Sign in / register ----------------------------------------------------------------------


class RegisterForm(forms.Form):
    # Types and bounds only: the rules are the service's, the same as for the API.
    username = forms.CharField(max_length=300, strip=False)
    email = forms.CharField(max_length=254)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128, strip=False)

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean(self) -> dict[str, Any]:
        # The limit per client address shared with every sign-in (echo_site/throttling.py).
        page_gate(self.request, username=None)
        return super().clean() or {}


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def register(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_register(**form.cleaned_data)
        except ServiceError as exc:
            for field, messages in (exc.fields or {}).items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            return HttpResponseRedirect(_next_url(request, reverse("frontend:market")))
    return render(request, "frontend/register.html", {"form": form})


# --- Marketplace ------------------------------------------------------------------------------


def market(request: HttpRequest) -> HttpResponse:
    # The API's own filter rules (GET /api/items): an id within 64 bits, a known type.
    filters = ItemFilterSerializer(
        data={k: v for k, v in request.GET.items() if k in ("item_type", "creator") and v}
    )
    if not filters.is_valid():
        field, messages = next(iter(filters.errors.items()))
        return render(
            request,
            "frontend/error.html",
            {"message": f"Bad filter {field}: {messages[0]}", "status": 400},
            status=400,
        )
    item_type: str | None = filters.validated_data.get("item_type") or None
    creator_id: int | None = filters.validated_data.get("creator")
    items = selectors.item_list(item_type=item_type, creator_id=creator_id).order_by(
        "-created_at", "-id"
    )
    page = Paginator(items, 20).get_page(request.GET.get("page"))
    creators = (
        get_user_model()
        .objects.filter(items__is_archived=False)
        .distinct()
        .order_by("username")
        .values("id", "username")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "frontend/market.html",
        {
            "page": page,
            "items": ItemSerializer(page.object_list, many=True).data,
            "item_types": ItemType.choices,
            "creators": list(creators),
            "selected_type": item_type or "",
            "selected_creator": creator_id,
            "query": query.urlencode(),
        },
    )


# --- My orders --------------------------------------------------------------------------------


def waiting_on(*, role: str, status: str, is_paid: bool, disputed: bool) -> str:
    """What the order waits for from `role` now ("" when it is not their turn): the same rules
    as the order page's next step (order_state.js) and My orders' live rows (orders.js)."""
    if disputed:
        return ""  # an admin decides
    if role == "buyer":
        if status == "PENDING" and not is_paid:
            return "Pay"
        if status == "DELIVERED":
            return "Check the delivery"
    elif role == "creator":
        if status == "PENDING" and is_paid:
            return "Accept or decline"
        if status == "IN_PROGRESS":
            return "Deliver"
    return ""


@login_required(login_url=SIGN_IN)
def my_orders(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {"request": _as_request(user)}
    rows: dict[str, list[dict[str, Any]]] = {}
    for role in ("buyer", "creator"):
        orders = list(
            selectors.order_list_for_user(user=user, role=role).select_related("buyer", "creator")[
                :100
            ]
        )
        data = OrderSerializer(orders, many=True, context=context).data
        rows[role] = []
        for order, row in zip(orders, data, strict=True):
            other = order.creator if role == "buyer" else order.buyer
            rows[role].append(
                {
                    **row,
                    "status_label": OrderStatus(row["status"]).label,
                    "other_party": other.username,
                    "other_role": "creator" if role == "buyer" else "buyer",
                    "created": order.created_at,
                    "updated": order.updated_at,
                    "waiting": waiting_on(
                        role=role,
                        status=row["status"],
                        is_paid=row["is_paid"],
                        disputed=row["open_dispute_id"] is not None,
                    ),
                }
            )
    waiting = sum(1 for role_rows in rows.values() for row in role_rows if row["waiting"])
    return render(
        request,
        "frontend/orders.html",
        {
            "as_buyer": rows["buyer"],
            "as_creator": rows["creator"],
            "waiting_count": waiting,
            "boot": {"me": {"id": user.pk, "username": user.get_username()}},
        },
    )


# --- Order workspace --------------------------------------------------------------------------


def _read_marks(order: Any) -> dict[str, int]:
    return {
        str(user_id): seq for user_id, seq in selectors.read_marks_for_order(order=order).items()
    }


def _order_disputes(order: Any, user: Any) -> list[dict[str, Any]]:
    disputes = dispute_selectors.dispute_list_for_user(user=user).filter(order=order)
    return list(DisputeSerializer(disputes, many=True).data)


def _order_payment(order: Any) -> dict[str, Any] | None:
    payment = payment_for_order(order=order)
    return dict(PaymentSerializer(payment).data) if payment is not None else None


# Stripe.js and its Payment Element, as Stripe documents them for a Content-Security-Policy:
# only the order page pays, and only when card payments are on (not simulated).
STRIPE_CSP = {
    "script-src": ["https://js.stripe.com", "https://*.js.stripe.com"],
    "frame-src": ["https://js.stripe.com", "https://*.js.stripe.com", "https://hooks.stripe.com"],
    "connect-src": ["https://api.stripe.com"],
}


def _with_stripe_csp(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """django-csp's `csp_update(STRIPE_CSP)` on `view`, when card payments are on."""
    with_stripe = cast(Callable[..., HttpResponse], csp_update(STRIPE_CSP)(view))

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        chosen = view if payments_simulated() else with_stripe
        return chosen(request, *args, **kwargs)

    return wrapper


@login_required(login_url=SIGN_IN)
@page_errors
@_with_stripe_csp
def order_page(request: HttpRequest, order_id: int) -> HttpResponse:
    """Everything the workspace shows first, in the page: no API waterfall before first paint."""
    user = request.user
    order = selectors.order_get_for_user(order_id=order_id, user=user)
    messages, has_more = selectors.message_page(
        order=order, before=order.last_seq + 1, limit=HISTORY_PAGE
    )
    events, _ = selectors.event_page(order=order, after=0, limit=200)
    reviews = selectors.review_list_for_creator(creator_id=order.creator_id).filter(order=order)
    role = viewer_role(order=order, user_id=user.pk).value
    boot = {
        "me": {"id": user.pk, "username": user.get_username(), "role": role},
        "users": {
            str(order.buyer_id): {"username": order.buyer.username, "role": "buyer"},
            str(order.creator_id): {"username": order.creator.username, "role": "creator"},
        },
        "order": OrderSerializer(order, context={"request": _as_request(user)}).data,
        "messages": MessageSerializer(messages, many=True).data,
        "has_more": has_more,
        "events": OrderEventSerializer(events, many=True).data,
        "read_marks": _read_marks(order),
        "review": ReviewSerializer(reviews.first()).data if reviews.exists() else None,
        "payment": _order_payment(order),
        "disputes": _order_disputes(order, user),
        "deliveries": DeliverySerializer(
            selectors.delivery_list(order=order),
            many=True,
            context={"revisions_allowed": order.revisions_allowed},
        ).data,
        "fee_percent": platform_fee_percent(),
    }
    return render(
        request,
        "frontend/order.html",
        {"order": order, "role": role, "boot": _json(boot)},
    )


# --- Disputes ---------------------------------------------------------------------------------


@login_required(login_url=SIGN_IN)
@page_errors
def dispute_page(request: HttpRequest, dispute_id: int) -> HttpResponse:
    """The dispute room; its thread comes from one API call (GET /api/disputes/{id})."""
    user = request.user
    dispute = dispute_selectors.dispute_get_for_user(dispute_id=dispute_id, user=user)
    order = dispute.order
    role = viewer_role(order=order, user_id=user.pk).value
    buyer, creator = order.buyer, order.creator
    boot = {
        "dispute_id": dispute.pk,
        "order_id": order.pk,
        "me": {"id": user.pk, "username": user.get_username(), "role": role},
        "users": {
            str(buyer.pk): {"username": buyer.username, "role": "buyer"},
            str(creator.pk): {"username": creator.username, "role": "creator"},
        },
    }
    outcomes = [
        (value, DisputeOutcome(value).label)
        for value in dispute_allowed_outcomes(order_status=order.status)
    ]
    # The admin's close form shows the money it decides about (paid, refunded, the refund cap).
    money = refund_room(order=order) if role == "admin" else None
    if money is not None:
        boot["money"] = _json(money)
    return render(
        request,
        "frontend/dispute.html",
        {
            "dispute": dispute,
            "order": order,
            "role": role,
            "boot": boot,
            "outcomes": outcomes,
            "money": money,
        },
    )


@login_required(login_url=SIGN_IN)
def desk(request: HttpRequest) -> HttpResponse:
    if not selectors.is_admin(request.user):
        return render(
            request,
            "frontend/error.html",
            {"message": "The mediation desk is for staff only.", "status": 403},
            status=403,
        )
    return render(
        request,
        "frontend/desk.html",
        {"boot": {"me": {"id": request.user.pk}}, "money": money_needing_admin()},
    )


# --- Notification settings ----------------------------------------------------------------------


@login_required(login_url=SIGN_IN)
def notification_settings(request: HttpRequest) -> HttpResponse:
    """Email/push toggles and the push on/off button; the page reads and writes
    /api/me/notifications and /api/me/push-subscriptions like any client."""
    return render(
        request,
        "frontend/notification_settings.html",
        {"boot": {"me": {"id": request.user.pk, "is_staff": bool(request.user.is_staff)}}},
    )
