"""REST endpoints for notification preferences and push; the one-click unsubscribe page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from echo_site.errors import ServiceError
from orders.views import parse

from . import services
from .push import push_configured
from .serializers import (
    PreferenceInputSerializer,
    PreferenceSerializer,
    PushKeySerializer,
    PushSubscriptionInputSerializer,
    PushUnsubscribeInputSerializer,
)

SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "notify" / "sw.js"


def _preferences(user: Any) -> dict[str, Any]:
    pref = services.preference_get(user=user)
    return {
        "email_enabled": pref.email_enabled,
        "push_enabled": pref.push_enabled,
        "digest_delay_minutes": pref.digest_delay_minutes,
        "desk_email": pref.desk_email,
        "muted_order_ids": services.muted_order_ids(user=user),
        "push_available": push_configured(),
    }


class PreferencesView(APIView):
    @extend_schema(operation_id="me_notifications_get", responses=PreferenceSerializer)
    def get(self, request: Request) -> Response:
        return Response(_preferences(request.user))

    @extend_schema(
        operation_id="me_notifications_update",
        request=PreferenceInputSerializer,
        responses=PreferenceSerializer,
    )
    def patch(self, request: Request) -> Response:
        data = parse(PreferenceInputSerializer, request.data)
        services.preference_update(user=request.user, **data)
        return Response(_preferences(request.user))


class PushSubscriptionsView(APIView):
    @extend_schema(request=PushSubscriptionInputSerializer, responses={201: None})
    def post(self, request: Request) -> Response:
        data = parse(PushSubscriptionInputSerializer, request.data)
        services.push_subscription_add(
            user=request.user,
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
        )
        return Response(status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("endpoint", str, required=True)],
        request=None,
        responses={204: None},
    )
    def delete(self, request: Request) -> Response:
        # The endpoint as a query parameter (or, for clients that send one, in the JSON body).
        source = request.query_params if "endpoint" in request.query_params else request.data
        data = parse(PushUnsubscribeInputSerializer, source)
        services.push_subscription_remove(user=request.user, endpoint=data["endpoint"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PushKeyView(APIView):
    @extend_schema(responses=PushKeySerializer)
    def get(self, request: Request) -> Response:
        return Response({"public_key": settings.VAPID_PUBLIC_KEY})


@csrf_exempt  # RFC 8058: mail clients POST without a session; the signed token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a button (link scanners never unsubscribe anyone); POST: email off."""
    valid = services.unsubscribe_user_id(token=token) is not None
    if not valid:
        return render(request, "notify/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        try:
            services.email_unsubscribe(token=token)
        except ServiceError:
            return render(request, "notify/unsubscribe.html", {"invalid": True}, status=404)
        return render(request, "notify/unsubscribe.html", {"done": True})
    return render(request, "notify/unsubscribe.html", {})


def service_worker(request: HttpRequest) -> HttpResponse:
    """The push service worker at /sw.js, so its scope covers the whole site."""
    response = HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response
