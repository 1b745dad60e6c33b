"""Named error codes raised by services, rendered in one place for REST.

The websocket consumers render the same `ServiceError` as an error frame (see chat/transport.py).
"""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.db import connections
from django.http import Http404, HttpRequest, JsonResponse
from psycopg_pool import PoolTimeout
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    """Every stable error code the API and the websocket protocol emit."""

    INVALID = "invalid"
    PARSE_ERROR = "parse_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_A_PARTY = "not_a_party"
    WRONG_ROLE = "wrong_role"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    THROTTLED = "throttled"
    INVALID_TRANSITION = "invalid_transition"
    OWN_ITEM = "own_item"
    ORDER_CLOSED = "order_closed"
    ORDER_NOT_COMPLETED = "order_not_completed"
    ALREADY_REVIEWED = "already_reviewed"
    ORDER_NOT_PAID = "order_not_paid"
    ORDER_NOT_PAYABLE = "order_not_payable"
    PAYMENT_NOT_REFUNDABLE = "payment_not_refundable"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"
    PAYMENT_PROVIDER_ERROR = "payment_provider_error"
    SERVER_ERROR = "server_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    ORDER_NOT_DISPUTABLE = "order_not_disputable"
    DISPUTE_WINDOW_CLOSED = "dispute_window_closed"
    DISPUTE_ALREADY_OPEN = "dispute_already_open"
    DISPUTE_OPEN = "dispute_open"
    DISPUTE_CLOSED = "dispute_closed"
    OUTCOME_NOT_ALLOWED = "outcome_not_allowed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    REVISIONS_EXHAUSTED = "revisions_exhausted"
    FILE_TYPE_NOT_ALLOWED = "file_type_not_allowed"
    LINK_EXPIRED = "link_expired"
    # The websocket protocol only (error frames, never an HTTP status): docs/websocket-protocol.md
    BINARY_NOT_SUPPORTED = "binary_not_supported"
    EMPTY_FRAME = "empty_frame"
    MALFORMED_JSON = "malformed_json"
    INVALID_FRAME = "invalid_frame"
    UNKNOWN_TYPE = "unknown_type"
    RATE_LIMITED = "rate_limited"
    # `auth.refresh` (renewing a bearer socket's token in band)
    TOKEN_INVALID = "token_invalid"  # noqa: S105 - a code, not a secret
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - a code, not a secret
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - a code, not a secret
    NOT_RENEWABLE = "not_renewable"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID: 400,
    ErrorCode.PARSE_ERROR: 400,
    ErrorCode.OWN_ITEM: 400,
    ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.AUTHENTICATION_FAILED: 401,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.NOT_A_PARTY: 403,
    ErrorCode.WRONG_ROLE: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.NOT_ACCEPTABLE: 406,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.THROTTLED: 429,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.ORDER_CLOSED: 409,
    ErrorCode.ORDER_NOT_COMPLETED: 409,
    ErrorCode.ALREADY_REVIEWED: 409,
    ErrorCode.ORDER_NOT_PAID: 409,
    ErrorCode.ORDER_NOT_PAYABLE: 409,
    ErrorCode.PAYMENT_NOT_REFUNDABLE: 409,
    ErrorCode.REFUND_EXCEEDS_PAID: 409,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 409,
    ErrorCode.WEBHOOK_SIGNATURE_INVALID: 400,
    ErrorCode.PAYMENT_PROVIDER_ERROR: 502,
    ErrorCode.SERVER_ERROR: 500,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.ORDER_NOT_DISPUTABLE: 409,
    ErrorCode.DISPUTE_WINDOW_CLOSED: 409,
    ErrorCode.DISPUTE_ALREADY_OPEN: 409,
    ErrorCode.DISPUTE_OPEN: 409,
    ErrorCode.DISPUTE_CLOSED: 409,
    ErrorCode.OUTCOME_NOT_ALLOWED: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.REVISIONS_EXHAUSTED: 409,
    ErrorCode.FILE_TYPE_NOT_ALLOWED: 415,
    ErrorCode.LINK_EXPIRED: 403,
}


class ServiceError(Exception):
    """A named, expected failure of a service call.

    `extra` carries additional plain JSON values for the client (e.g. the allowed moves).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
        http_status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds, sent as Retry-After
        self.code = str(code)
        self.message = message
        self.fields = fields or {}
        self.extra = extra or {}
        self.http_status = http_status or HTTP_STATUS.get(ErrorCode(code), 400)

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, "fields": self.fields, **self.extra}


def error_body(
    code: ErrorCode, message: str, fields: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"error": message, "code": code, "fields": fields or {}}


def _flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested validation detail into {"field": ["message", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten_fields(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            out[prefix or "non_field_errors"] = [str(v) for v in detail]
        else:
            for index, value in enumerate(detail):
                out.update(_flatten_fields(value, f"{prefix}[{index}]"))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def validation_error(exc: exceptions.ValidationError) -> ServiceError:
    """A serializer's ValidationError as the one `invalid` error: the body of a REST 400, and
    the error frame of a websocket frame parsed with the same serializer."""
    fields = _flatten_fields(exc.detail)
    field_name, messages = next(iter(fields.items()), ("", ["Invalid input."]))
    message = messages[0] if field_name == "non_field_errors" else f"{field_name}: {messages[0]}"
    return ServiceError(ErrorCode.INVALID, message, fields=fields)


_DRF_CODES: dict[type[exceptions.APIException], ErrorCode] = {
    exceptions.ParseError: ErrorCode.PARSE_ERROR,
    exceptions.NotAuthenticated: ErrorCode.NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: ErrorCode.AUTHENTICATION_FAILED,
    exceptions.PermissionDenied: ErrorCode.PERMISSION_DENIED,
    exceptions.NotFound: ErrorCode.NOT_FOUND,
    exceptions.MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: ErrorCode.NOT_ACCEPTABLE,
    exceptions.UnsupportedMediaType: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    exceptions.Throttled: ErrorCode.THROTTLED,
}


# The database went away (restarted, connection killed, refusing connections): the request
# fails cleanly with a 503 the client may retry, and Django opens a new connection next time.
UNAVAILABLE_ERRORS = (DatabaseOperationalError, DatabaseInterfaceError)
UNAVAILABLE_MESSAGE = "The service is briefly unavailable. Retry in a moment."


def unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, UNAVAILABLE_ERRORS)


def _log_unavailable(exc: BaseException, path: str) -> None:
    if isinstance(exc.__cause__, PoolTimeout):
        # Load, not a fault: every pooled connection stayed busy for DB_POOL_TIMEOUT_SECONDS.
        logger.warning("database pool exhausted on %s: %s", path, exc)
        return
    # psycopg's messages name the host and the database, never a password.
    logger.error("database unavailable on %s: %s", path, exc, exc_info=exc)


def request_too_big(request: Any) -> bool:
    """The declared body is over DATA_UPLOAD_MAX_MEMORY_SIZE (a bad Content-Length: not)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return limit is not None and length > limit


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The one place REST errors are rendered: {"error", "code", "fields"}."""
    if isinstance(exc, ServiceError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return Response(exc.as_dict(), status=exc.http_status, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        # A client's mistake or a flood, not our error: one warning line, no traceback.
        request = context.get("request")
        logger.warning("request body too large on %s", getattr(request, "path", "?"))
        return Response(
            error_body(ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if unavailable(exc):
        request = context.get("request")
        _log_unavailable(exc, getattr(request, "path", "?"))
        _discard_broken_connections()
        return Response(
            error_body(ErrorCode.SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django's 500 handler (JSON under /api/) takes over

    if isinstance(exc, exceptions.ValidationError):
        response.data = validation_error(exc).as_dict()
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response

    code = next(
        (code for cls, code in _DRF_CODES.items() if isinstance(exc, cls)),
        None,
    )
    detail = getattr(exc, "detail", "")
    message = str(detail) if not isinstance(detail, dict | list) else "Request failed."
    if code is None:  # every code the API emits is an ErrorCode; anything else is "invalid"
        try:
            code = ErrorCode(str(getattr(detail, "code", "")))
        except ValueError:
            code = ErrorCode.INVALID
    # simplejwt's InvalidToken carries a dict detail; keep the message short and token-free.
    if isinstance(detail, dict):
        message = str(detail.get("detail", "Request failed."))
    response.data = error_body(code, message)
    return response


def is_api_path(path: str) -> bool:
    """/api itself and everything under /api/ is the API: its errors are JSON."""
    return path == "/api" or path.startswith("/api/")


def _is_api(request: HttpRequest) -> bool:
    return is_api_path(request.path)


def error_json_response(code: ErrorCode, message: str, *, status: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_json_response(ErrorCode.NOT_FOUND, "Not found.", status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    # Django calls this inside its `except` block: the exception is still at hand.
    if unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    return error_json_response(
        ErrorCode.SERVER_ERROR, "Internal server error. It has been logged.", status=500
    )


def unavailable_response(request: HttpRequest) -> JsonResponse:
    response = error_json_response(ErrorCode.SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE, status=503)
    response["Retry-After"] = "1"
    return response


def _discard_broken_connections() -> None:
    """Drop connections that are no longer usable, so the next request opens a fresh one.

    Inside an atomic block Django cannot close the connection; it is marked for rollback and
    closed when the block exits (or at the next request's health check).
    """
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block and not conn.is_usable():
            conn.close()
