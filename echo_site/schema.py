"""OpenAPI: every operation documents the errors it can really answer with.

Errors are rendered in one place (echo_site/errors.py), so they are documented in one place too:
a drf-spectacular postprocessing hook adds, to each operation, the `Error` responses that follow
from how its view is built (authentication, throttling, a request body, ids in the path), unless
the view documented that status itself. The fuzzing suite (tests/security/test_api_fuzzing.py)
holds the schema to what the server answers.
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}

_DESCRIPTIONS = {
    400: "Bad input: {error, code: invalid | parse_error, fields}",
    401: "Not authenticated, or a bad or expired token",
    403: "Not allowed (not a party, wrong role, CSRF token missing)",
    404: "Unknown id",
    409: "Conflicts with the current state (the code names the rule)",
    415: "The body is not JSON",
    429: "Throttled; see Retry-After",
    502: "The payment provider failed; retry later",
    503: "A backing service (the database) is unavailable; retry later",
}

_BODY_METHODS = {"post", "put", "patch"}


def _statuses(view_cls: Any, method: str, path: str, operation: dict[str, Any]) -> set[int]:
    statuses = {503}
    authenticates = bool(getattr(view_cls, "authentication_classes", None))
    if authenticates:
        statuses |= {401, 403}
    if method in _BODY_METHODS or operation.get("parameters"):
        statuses.add(400)
    if method in _BODY_METHODS:
        statuses.add(415)
        if authenticates:
            statuses |= {404, 409}
    if "{" in path or any(p.get("name") == "page" for p in operation.get("parameters", [])):
        statuses.add(404)  # an unknown id; a page past the end
    if getattr(view_cls, "throttle_classes", None):
        statuses.add(429)
    statuses |= set(getattr(view_cls, "extra_error_statuses", ()))
    return statuses


def document_errors(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: add the Error responses each operation can give."""
    views = {(path, method.lower()): callback for path, _, method, callback in generator.endpoints}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            callback = views.get((path, method))
            view_cls = getattr(callback, "cls", None)
            if view_cls is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(view_cls, method, path, operation)):
                responses.setdefault(
                    str(status),
                    {
                        "content": {"application/json": {"schema": ERROR_REF}},
                        "description": _DESCRIPTIONS[status],
                    },
                )
    return result
