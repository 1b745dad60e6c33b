"""Who is on the other end of a websocket: handshake authentication and origin checks.

Three ways in:
- a browser's session cookie, with an Origin that is one of ours;
- `Authorization: Bearer <JWT access token>` (native apps; a missing Origin is fine, a foreign
  one is not);
- `?ticket=<single-use ticket>` from POST /api/ws-ticket, for browser code that holds a JWT.

An Origin header, whatever the credential, must be exactly one of ours: scheme, host and port
equal to the site's own origin (the scheme and Host the handshake reached, the Host valid for
ALLOWED_HOSTS) or to an entry of CSRF_TRUSTED_ORIGINS (`origin_allowed`). Anything else (another
port or scheme on our host, an unlisted subdomain, `null`) is refused at the handshake (HTTP 403).
A missing or bad credential is not refused here: the consumer accepts and closes with 4401,
which a client can see and act on;
one that cannot be checked right now (the ticket store or the database is down) closes with 4503
("try again later"). A credential obtained before the user's last logout is a bad one
(chat.models.CredentialRevocation), here and on every heartbeat.
A JWT socket may take a fresh access token in band before its token expires (chat/renewal.py).
Tokens and tickets are never logged.
"""

from __future__ import annotations

import io
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.auth import get_user as session_get_user
from channels.security.websocket import WebsocketDenier
from channels.sessions import SessionMiddlewareStack
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.utils import timezone
from django.utils.http import is_same_domain
from redis.exceptions import RedisError
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from echo_site.errors import UNAVAILABLE_ERRORS, ErrorCode, ServiceError
from echo_site.throttling import REDIS_DOWN

from .db import in_db_thread

logger = logging.getLogger(__name__)

TICKET_TTL_SECONDS = 30
TICKET_PREFIX = "wsticket:"
TICKET_RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Credential:
    """How a socket authenticated, and until when that holds."""

    method: str  # "session" | "jwt" | "ticket"
    user_id: int
    # When it was obtained (a JWT's "iat", else the handshake): a logout at or after this time
    # revokes it (chat.models.CredentialRevocation).
    issued_at: datetime = field(default_factory=timezone.now)
    expires_at: datetime | None = None  # a JWT's expiry
    session_key: str | None = None  # the Django session behind a session-authenticated socket


class CredentialsUnavailable(Exception):
    """The credential could not be checked (its store is down): the client should retry."""


# --- Origin -----------------------------------------------------------------------------------


def site_origin(scope: dict[str, Any]) -> str | None:
    """The origin the handshake reached, as Django's CSRF check sees a request's own origin:
    `https` if the connection is TLS (or, with BEHIND_PROXY, the proxy says
    `X-Forwarded-Proto: https`), else `http`, and the Host header (X-Forwarded-Host only with
    USE_X_FORWARDED_HOST). The Host header is the client's word: None unless it is valid for
    ALLOWED_HOSTS. A browser cannot choose it: it names the server the page connects to."""
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    request = ASGIRequest(
        {**scope, "type": "http", "method": "GET", "scheme": scheme}, io.BytesIO()
    )
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    return f"{'https' if request.is_secure() else 'http'}://{host}".lower()


def origin_allowed(origin: str, scope: dict[str, Any]) -> bool:
    """Is this Origin header exactly one of ours?

    Scheme, host and port must equal the site's own origin (`site_origin`) or an entry of
    CSRF_TRUSTED_ORIGINS; an entry `https://*.example.com` admits its subdomains (with that
    scheme and port), as in Django's CSRF check. ALLOWED_HOSTS alone admits nothing: a page on
    another port or scheme of one of our hosts, or on a subdomain, is another origin.
    """
    origin = origin.strip().lower()
    if not origin or origin == "null":
        return False
    parsed = urlsplit(origin)
    if (
        parsed.scheme not in {"http", "https"}
        or not parsed.hostname
        or "@" in parsed.netloc
        or parsed.path
        or parsed.query
        or parsed.fragment
    ):
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        trusted = trusted.strip().rstrip("/").lower()
        if "*" not in trusted:
            if origin == trusted:
                return True
            continue
        pattern = urlsplit(trusted)
        if pattern.scheme == parsed.scheme and is_same_domain(
            parsed.netloc, pattern.netloc.lstrip("*")
        ):
            return True
    return origin == site_origin(scope)


# --- Tickets ----------------------------------------------------------------------------------


def _tickets() -> BaseCache:
    # Their own cache: issuing tickets can never evict throttle counters (settings.CACHES).
    return caches["tickets"]


def ticket_issue(
    *,
    user_id: int,
    expires_at: datetime | None,
    session_key: str | None,
    issued_at: datetime | None = None,
) -> str:
    """A single-use ticket valid TICKET_TTL_SECONDS, carrying the credential it was bought with
    (`issued_at`: when that credential was issued; a logout after it revokes the ticket too).

    The ticket store is shared by all processes (Redis); while it is unreachable, no ticket can
    be issued that another process could redeem: 503 service_unavailable with Retry-After.
    """
    ticket = secrets.token_urlsafe(32)
    try:
        _tickets().set(
            TICKET_PREFIX + ticket,
            {
                "user_id": user_id,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "issued_at": (issued_at or timezone.now()).isoformat(),
                "session_key": session_key,
            },
            timeout=TICKET_TTL_SECONDS,
        )
    except REDIS_DOWN as exc:
        logger.warning("websocket ticket store unreachable: %s", type(exc).__name__)
        raise ServiceError(
            ErrorCode.SERVICE_UNAVAILABLE,
            "Websocket tickets are briefly unavailable. Retry in a moment, or connect with "
            "an Authorization header.",
            retry_after=TICKET_RETRY_AFTER_SECONDS,
        ) from exc
    return ticket


def ticket_redeem(ticket: str) -> dict[str, Any] | None:
    """The ticket's payload, once: of two redemptions racing, only the one that deletes wins."""
    if not ticket or len(ticket) > 100:
        return None
    key = TICKET_PREFIX + ticket
    tickets = _tickets()
    payload = tickets.get(key)
    if payload is None or not tickets.delete(key):
        return None
    return dict(payload)


# --- Resolving the user -----------------------------------------------------------------------


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


@in_db_thread
def active_user(user_id: int, issued_at: datetime) -> Any | None:
    """The user, if active and their credentials were not revoked since `issued_at`."""
    return (
        get_user_model()
        .objects.filter(pk=user_id, is_active=True)
        .exclude(credential_revocation__revoked_at__gte=issued_at)
        .first()
    )


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says: whose it is, when it was issued, when it expires."""

    user_id: int
    issued_at: datetime
    expires_at: datetime


def access_claims(raw: str) -> AccessClaims | None:
    """The claims of an access token whose signature, algorithm, expiry and type check out;
    None if it names no user. Raises simplejwt's TokenError (ExpiredTokenError if only its
    expiry is past) for any other token."""
    token = AccessToken(raw)  # type: ignore[arg-type]  # verifies signature, algorithm, expiry and token type
    user_id = token.get(str(settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id")))
    if user_id is None:
        return None
    iat = token.get("iat")
    issued = datetime.fromtimestamp(int(iat), tz=UTC) if iat is not None else timezone.now()
    expires = datetime.fromtimestamp(int(token["exp"]), tz=UTC)
    return AccessClaims(user_id=int(user_id), issued_at=issued, expires_at=expires)


async def _from_bearer(raw: str) -> tuple[Any, Credential] | None:
    try:
        claims = access_claims(raw)
    except TokenError:
        return None
    if claims is None:
        return None
    user = await active_user(claims.user_id, claims.issued_at)
    if user is None:
        return None
    return user, Credential(
        method="jwt", user_id=user.pk, issued_at=claims.issued_at, expires_at=claims.expires_at
    )


async def _from_ticket(raw: str) -> tuple[Any, Credential] | None:
    try:
        payload = await in_db_thread(ticket_redeem)(raw)
    except (RedisError, OSError) as error:  # the ticket store (the cache: Redis) is down
        raise CredentialsUnavailable from error
    if payload is None:
        return None
    issued_raw = payload.get("issued_at")
    issued = datetime.fromisoformat(issued_raw) if issued_raw else timezone.now()
    user = await active_user(int(payload["user_id"]), issued)
    if user is None:
        return None
    expires = payload.get("expires_at")
    return user, Credential(
        method="ticket",
        user_id=user.pk,
        issued_at=issued,
        expires_at=datetime.fromisoformat(expires) if expires else None,
        session_key=payload.get("session_key"),
    )


async def _from_session(scope: dict[str, Any]) -> tuple[Any, Credential] | None:
    session: SessionBase | None = scope.get("session")
    if session is None or not session.session_key:
        return None
    user = await session_get_user(scope)
    if not user.is_authenticated or not user.is_active:
        return None
    return user, Credential(
        method="session",
        user_id=user.pk,
        issued_at=timezone.now(),
        session_key=session.session_key,
    )


class WebsocketAuthMiddleware:
    """Sets scope["user"] and scope["credential"]; refuses foreign origins with 403."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        origin = _header(scope, b"origin")
        authorization = _header(scope, b"authorization") or ""
        query = parse_qs(scope.get("query_string", b"").decode("latin1"))
        ticket = (query.get("ticket") or [""])[0]

        if origin is not None and not origin_allowed(origin, scope):
            logger.info("websocket refused: foreign origin %r on %s", origin, scope.get("path"))
            return await WebsocketDenier()(scope, receive, send)

        resolved: tuple[Any, Credential] | None = None
        unavailable = False
        try:
            if authorization.lower().startswith("bearer "):
                resolved = await _from_bearer(authorization[7:].strip())
            elif ticket:
                resolved = await _from_ticket(ticket)
            elif origin is not None:
                # A session cookie only counts with an Origin of ours (checked above): a browser.
                resolved = await _from_session(scope)
        except (CredentialsUnavailable, *UNAVAILABLE_ERRORS) as error:
            # The ticket store or the database is down: the consumer closes with 4503 ("try
            # again later"), not 4401, which tells a client to sign in again.
            logger.warning("websocket credential unavailable on %s: %r", scope.get("path"), error)
            unavailable = True

        # Set on the connection's own scope (daphne builds one per connection) rather than a
        # copy: a copy stays alive for the whole connection in this coroutine's frame.
        scope["credential_unavailable"] = unavailable
        if resolved is None:
            scope["user"], scope["credential"] = AnonymousUser(), None
        else:
            scope["user"], scope["credential"] = resolved
        return await self.app(scope, receive, send)


def websocket_auth_stack(app: Any) -> Any:
    authenticated = WebsocketAuthMiddleware(app)
    with_session = SessionMiddlewareStack(authenticated)

    async def stack(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        # Without a Cookie header there is no session to find: skip Channels' cookie and
        # session middleware, which keep a session store per socket and wrap every frame it
        # sends (bearer and ticket sockets, i.e. apps, are most sockets; docs/benchmarks.md).
        if _header(scope, b"cookie") is None:
            return await authenticated(scope, receive, send)
        return await with_session(scope, receive, send)

    return stack


# --- Does the credential still hold? ----------------------------------------------------------


def credentials_still_valid(credentials: list[Credential | None]) -> list[bool]:
    """For each credential: False once the JWT has expired, the session is gone, the user
    logged out since it was obtained (CredentialRevocation) or the user is deactivated. One query
    for all the users (the process-wide heartbeat), one session read per session credential.
    Read from the database only, so that it holds while Redis, which carries the logout's
    broadcast, is down."""
    now = timezone.now()
    user_ids = {c.user_id for c in credentials if c is not None}
    revoked_at: dict[int, datetime | None] = dict(
        get_user_model()
        .objects.filter(pk__in=user_ids, is_active=True)
        .values_list("pk", "credential_revocation__revoked_at")
    )
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    sessions: dict[str, str] = {}
    results = []
    for credential in credentials:
        if credential is None or credential.user_id not in revoked_at:
            results.append(False)
            continue
        revoked = revoked_at[credential.user_id]
        if revoked is not None and credential.issued_at <= revoked:
            results.append(False)
            continue
        if credential.expires_at is not None and credential.expires_at <= now:
            results.append(False)
            continue
        if credential.session_key is not None:
            key = credential.session_key
            if key not in sessions:
                sessions[key] = str(store_class(key).get(SESSION_KEY, ""))
            if sessions[key] != str(credential.user_id):
                results.append(False)
                continue
        results.append(True)
    return results


def seconds_until_expiry(credential: Credential) -> float | None:
    if credential.expires_at is None:
        return None
    return max(0.0, (credential.expires_at - timezone.now()) / timedelta(seconds=1))
