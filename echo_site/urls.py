from csp.decorators import csp_update
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from chat.views import LogoutView, TicketView

from .asyncapi import asyncapi_view
from .errors import json_404, json_500
from .throttling import ThrottledAdminAuthenticationForm, throttle_status

# The admin login shares the sign-in limits (echo_site/throttling.py).
admin.site.login_form = ThrottledAdminAuthenticationForm


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


# /api/docs: the split view serves Swagger UI's start script as a file, so scripts stay 'self'
# only. Swagger UI draws its icons from data: URLs and injects <style> elements as it renders
# (inline styles, on this page only: it shows the public schema, no user data).
SWAGGER_UI_CSP = {"img-src": ["data:"], "style-src": ["'unsafe-inline'"]}

urlpatterns = [
    path("admin/login/", throttle_status(admin.site.login)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs",
        csp_update(SWAGGER_UI_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("api/asyncapi.json", asyncapi_view, name="api-asyncapi"),
    path("api/ws-ticket", TicketView.as_view(), name="ws-ticket"),
    path("api/auth/logout", LogoutView.as_view(), name="auth-logout"),
    path("api/", include("orders.urls")),
    path("api/", include("payments.urls")),
    path("api/", include("disputes.urls")),
    path("", include("notify.urls")),
    path("", include("frontend.urls")),
]

handler404 = json_404
handler500 = json_500
