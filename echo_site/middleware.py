from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from .errors import (
    ErrorCode,
    error_json_response,
    is_api_path,
    unavailable,
    unavailable_response,
)


class ApiTrailingSlashMiddleware:
    """Let every /api/ path answer with and without a trailing slash, without redirects.

    URLs are declared once, without the slash; a request for `/api/orders/` is routed as
    `/api/orders`. A redirect would lose the body of a POST or PATCH.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith("/api/") and len(path) > len("/api/") and path.endswith("/"):
            request.path_info = path.rstrip("/")
            request.path = request.path.rstrip("/")
        return self.get_response(request)


class ApiNoStoreMiddleware:
    """An API response to an authenticated request is never stored by a browser or a proxy
    (`Cache-Control: no-store, private, ...`): it holds one user's orders, messages, tokens.

    DRF authenticates inside the view and sets `request.user` on the Django request too, so the
    check runs after the view. A request that sent credentials which failed is covered as well.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_api_path(request.path) and (
            getattr(getattr(request, "user", None), "is_authenticated", False)
            or "HTTP_AUTHORIZATION" in request.META
            or request.path.startswith("/api/auth/")  # tokens handed out to a password
        ):
            add_never_cache_headers(response)
        return response


# Django's own error pages (the DEBUG 404 and 500 pages, a disallowed host) are HTML.
_STATUS_CODES: dict[int, tuple[ErrorCode, str]] = {
    400: (ErrorCode.INVALID, "Bad request."),
    403: (ErrorCode.PERMISSION_DENIED, "You are not allowed to do this."),
    404: (ErrorCode.NOT_FOUND, "Not found."),
    405: (ErrorCode.METHOD_NOT_ALLOWED, "Method not allowed."),
    500: (ErrorCode.SERVER_ERROR, "Internal server error. It has been logged."),
}


class ApiJsonErrorsMiddleware:
    """Under /api/, an error response is always JSON {error, code, fields}, DEBUG or not."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            is_api_path(request.path)
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code, message = _STATUS_CODES.get(
                response.status_code,
                (ErrorCode.SERVER_ERROR, "Request failed.")
                if response.status_code >= 500
                else (ErrorCode.INVALID, "Request failed."),
            )
            return error_json_response(code, message, status=response.status_code)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view outside DRF that lost the database: 503 too (DRF views: errors.py)."""
        if is_api_path(request.path) and unavailable(exception):
            return unavailable_response(request)
        return None
