"""Sockets that outlive a token: in-band renewal of a bearer socket's access token.

A socket opened with a JWT (directly, or through a ticket bought with one) lives until that
token expires; then it is closed with 4401. `WS_TOKEN_EXPIRY_WARNING_SECONDS` before that the
server sends `auth.expiring` (once per token), and the client may send `auth.refresh` with a
fresh access token of the same user at any time: the socket then lives until the new token's
expiry (`auth.refreshed`). A token that does not check out is an error frame and the old expiry
stands. Sockets on a session (or on a ticket bought with one) have no expiry to renew.
Protocol: docs/websocket-protocol.md, "Renewing the token in band".

Tokens are never logged, and never echoed in a frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError

from echo_site.errors import ErrorCode, ServiceError

from . import auth
from .auth import Credential, seconds_until_expiry

# An access token is a few hundred characters; anything this long is not one, and is refused
# before it is decoded.
MAX_TOKEN_CHARS = 4096
# The close runs this long after the expiry, never a moment before it.
EXPIRY_GRACE_SECONDS = 0.05


class ForeignToken(Exception):
    """A valid access token of another user than the socket's."""


def iso_utc(moment: datetime) -> str:
    """An ISO 8601 UTC time with a Z, as the REST API renders times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def credential_renew(*, credential: Credential | None, token: Any) -> Credential:
    """The socket's credential renewed with `token`, a fresh access token of the same user.

    Raises ServiceError (an error frame; the socket keeps its credential) for a socket whose
    credential does not expire and for a token that is not a string, too long, malformed,
    forged, of another type (a refresh token), expired, or obtained before the user's last
    logout (or the user is deactivated); ForeignToken for a valid token of another user.
    """
    if credential is None or credential.expires_at is None:
        raise ServiceError(
            ErrorCode.NOT_RENEWABLE,
            "This socket was opened with a session, which it follows by itself: there is no "
            "token to renew.",
        )
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise ServiceError(
            ErrorCode.TOKEN_INVALID, "auth.refresh needs 'token': an access token (a string)."
        )
    try:
        claims = auth.access_claims(token)
    except ExpiredTokenError:
        raise ServiceError(
            ErrorCode.TOKEN_EXPIRED,
            "That access token has expired: get a fresh one (POST /api/auth/token/refresh).",
        ) from None
    except TokenError:
        # Malformed, forged, another algorithm, or not an access token (a refresh token).
        raise ServiceError(ErrorCode.TOKEN_INVALID, "That is not a valid access token.") from None
    if claims is None:
        raise ServiceError(ErrorCode.TOKEN_INVALID, "That access token names no user.")
    if claims.user_id != credential.user_id:
        raise ForeignToken
    if await auth.active_user(claims.user_id, claims.issued_at) is None:
        raise ServiceError(
            ErrorCode.TOKEN_REVOKED,
            "That access token was obtained before your last logout (or the account is "
            "disabled): sign in again.",
        )
    return Credential(
        method="jwt",
        user_id=credential.user_id,
        issued_at=claims.issued_at,
        expires_at=claims.expires_at,
    )


class ExpiryClock:
    """A socket's two timers for its credential's expiry: the warning and the close.

    `set` (re)starts them for an expiry: `expire` runs just after it, `warn` (a coroutine
    function) WS_TOKEN_EXPIRY_WARNING_SECONDS before it (at once if that is already past), at most
    once for each expiry, even if the same expiry is set again. `stop` cancels everything.
    """

    def __init__(
        self,
        *,
        warn: Callable[[datetime], Awaitable[None]],
        expire: Callable[[], None],
    ) -> None:
        self.warn = warn
        self.expire = expire
        self.timers: list[asyncio.TimerHandle] = []
        self.warning: asyncio.Task[None] | None = None
        self.warned_for: datetime | None = None

    def set(self, credential: Credential) -> None:
        self.cancel_timers()
        left = seconds_until_expiry(credential)
        if left is None or credential.expires_at is None:
            return
        loop = asyncio.get_running_loop()
        self.timers.append(loop.call_later(left + EXPIRY_GRACE_SECONDS, self.expire))
        ahead = settings.WS_TOKEN_EXPIRY_WARNING_SECONDS
        if ahead > 0 and self.warned_for != credential.expires_at:
            self.timers.append(
                loop.call_later(max(0.0, left - ahead), self._warn, credential.expires_at)
            )

    def _warn(self, expires_at: datetime) -> None:
        self.warned_for = expires_at
        self.warning = asyncio.get_running_loop().create_task(self._send_warning(expires_at))

    async def _send_warning(self, expires_at: datetime) -> None:
        try:
            await self.warn(expires_at)
        finally:
            self.warning = None

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers = []

    def stop(self) -> None:
        self.cancel_timers()
        if self.warning is not None:
            self.warning.cancel()
            self.warning = None
        # The callbacks are the socket's bound methods, and the socket holds this clock: drop
        # them so that a closed socket is freed at once by its reference count, not left to the
        # cyclic collector (memory under connection churn, issue 24).
        self.warn = _no_warning
        self.expire = _no_expiry


async def _no_warning(expires_at: datetime) -> None:
    return None


def _no_expiry() -> None:
    return None
