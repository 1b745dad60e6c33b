"""Brute-force limits for every way to present a password, and for websocket tickets.

Built on DRF's sliding-window throttle (`SimpleRateThrottle`), keyed correctly:

- `AuthAddressThrottle` ("auth", `AUTH_THROTTLE_RATE`): every attempt from one client address,
  shared by POST /api/auth/token, /api/auth/refresh, /api/auth/register and the /signin/,
  /register/ and /admin/login/ forms.
- `AuthUsernameThrottle` ("auth_username", `AUTH_USERNAME_FAILURE_RATE`): failed sign-ins per
  username, from any address. `ThrottledModelBackend` counts the failures, whichever entry point
  called `authenticate()`; the entry points refuse a blocked username before checking it.
- `TicketThrottle` ("ws_ticket", `WS_TICKET_RATE`): websocket tickets per user.

The client address is the socket's (`REMOTE_ADDR`) unless `TRUSTED_PROXY_COUNT` proxies append
to X-Forwarded-For (DRF's `NUM_PROXIES`); IPv6 addresses count per /64.

The counters live in the "throttle" cache (Redis when configured). While Redis is unreachable
they fall back to the same limits in this process ("throttle-local"): never unlimited, never a
500. After a failure, Redis is not tried again for `FALLBACK_SECONDS`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest, HttpResponseBase
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

logger = logging.getLogger(__name__)

# What an unreachable Redis raises (Django's RedisCache lets redis-py's errors through).
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
FALLBACK_SECONDS = 5.0
THROTTLED_MESSAGE = "Too many attempts. Try again in {seconds} seconds."

T = TypeVar("T")

_shared_down_until = 0.0


def shared_store_down(exc: BaseException) -> None:
    """Remember that the shared store failed: use the per-process one for a while."""
    global _shared_down_until
    if time.monotonic() >= _shared_down_until:
        logger.warning(
            "throttle store unreachable (%s); limits count per process", type(exc).__name__
        )
    _shared_down_until = time.monotonic() + FALLBACK_SECONDS


def client_address(request: Any) -> str:
    """The client's address as far as it can be trusted (see the module docstring)."""
    for candidate in (BaseThrottle().get_ident(request), request.META.get("REMOTE_ADDR")):
        try:
            address = ipaddress.ip_address(str(candidate or "").strip())
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)
    return "unknown"


def username_key(username: str) -> str:
    """One counter for every spelling of a name (case, compatibility forms); a fixed-size key."""
    folded = unicodedata.normalize("NFKC", username).casefold().strip()
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class ResilientRateThrottle(SimpleRateThrottle):
    """DRF's throttle on the "throttle" cache, falling back to "throttle-local"."""

    num_requests: int
    duration: int

    def _call(self, operation: Callable[[], T]) -> T:
        if time.monotonic() >= _shared_down_until:
            self.cache: BaseCache = caches["throttle"]
            try:
                return operation()
            except REDIS_DOWN as exc:
                shared_store_down(exc)
        self.cache = caches["throttle-local"]
        return operation()

    def allow_request(self, request: Any, view: Any) -> bool:
        return self._call(lambda: SimpleRateThrottle.allow_request(self, request, view))

    # Checking without counting, and counting afterwards: for failures only.
    def _history(self, key: str) -> list[float]:
        self.key = key
        self.now = self.timer()
        self.history = list(self.cache.get(key, []))
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return self.history

    def blocked(self, key: str) -> bool:
        if self.rate is None:
            return False
        return self._call(lambda: len(self._history(key)) >= self.num_requests)

    def record(self, key: str) -> None:
        def add() -> None:
            self._history(key).insert(0, self.now)
            self.cache.set(key, self.history, self.duration)

        if self.rate is not None:
            self._call(add)


class AuthAddressThrottle(ResilientRateThrottle):
    scope = "auth"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class AuthUsernameThrottle(ResilientRateThrottle):
    """Refuses a username with too many recent failed sign-ins (it counts no request itself)."""

    scope = "auth_username"

    def key_for(self, username: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": username_key(username)}

    def allow_request(self, request: Any, view: Any) -> bool:
        data = getattr(request, "data", None)
        username = data.get("username") if isinstance(data, dict) else None
        if not isinstance(username, str) or not username:
            return True
        return not self.blocked(self.key_for(username))

    def username_blocked(self, username: str) -> bool:
        return self.blocked(self.key_for(username))

    def record_failure(self, username: str) -> None:
        self.record(self.key_for(username))


class TicketThrottle(ResilientRateThrottle):
    """Websocket tickets per user: bounds what one account can put in the ticket store."""

    scope = "ws_ticket"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class ThrottledModelBackend(ModelBackend):
    """Django's backend, counting failed sign-ins per username and refusing blocked names."""

    def authenticate(
        self,
        request: Any,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get("username")
        if not isinstance(username, str) or not username:
            return None
        throttle = AuthUsernameThrottle()
        if throttle.username_blocked(username):
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            throttle.record_failure(username)
        return user


# --- Pages -------------------------------------------------------------------------------------

WAIT_ATTRIBUTE = "echo_throttle_wait"


def page_gate(request: HttpRequest, *, username: str | None) -> None:
    """Count a page's password attempt; raise a form error if it is over a limit."""
    waits: list[float] = []
    address = AuthAddressThrottle()
    if not address.allow_request(request, None):
        waits.append(address.wait() or 1.0)
    if username:
        per_name = AuthUsernameThrottle()
        if per_name.username_blocked(username):
            waits.append(per_name.wait() or 1.0)
    if waits:
        seconds = max(1, int(max(waits) + 0.999))
        setattr(request, WAIT_ATTRIBUTE, seconds)
        raise forms.ValidationError(THROTTLED_MESSAGE.format(seconds=seconds), code="throttled")


class ThrottledAuthenticationForm(AuthenticationForm):
    """/signin/: the shared limits before the password is checked."""

    def clean(self) -> dict[str, Any]:
        if self.request is not None:
            page_gate(self.request, username=self.data.get("username") or None)
        return super().clean()


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """/admin/login/: the same limits as every other sign-in."""

    def clean(self) -> dict[str, Any]:
        if self.request is not None:
            page_gate(self.request, username=self.data.get("username") or None)
        return super().clean()


def throttle_status(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A page refused by `page_gate` answers 429 with Retry-After (and its form error)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        wait = getattr(request, WAIT_ATTRIBUTE, None)
        if wait is not None:
            response.status_code = 429
            response.reason_phrase = "Too Many Requests"
            response["Retry-After"] = str(wait)
        return response

    return wrapper
