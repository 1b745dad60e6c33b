"""Per-user rate limits of the live rooms, counted across all of a user's sockets.

With REDIS_URL the count is shared by every process (a moving window in Redis, through the
`limits` library); without it, or while Redis cannot be reached, each process counts on its own
(never unlimited). The per-socket frame limit (`throttled`) stays in the consumer: it guards one
connection's event loop share, this one guards what a user may store.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

import redis.asyncio as aioredis
from django.conf import settings
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

logger = logging.getLogger(__name__)

# After Redis fails, count in this process for this long before trying Redis again: one warning
# per outage and no wait on a dead server for every message.
SHARED_BACKOFF_SECONDS = 5.0
KEY_PREFIX = "echo:limits"


class _Limiters:
    """This event loop's limiters: redis.asyncio connections belong to the loop that made them."""

    def __init__(self) -> None:
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self.shared: MovingWindowRateLimiter | None = None
        if settings.REDIS_URL:
            pool = aioredis.BlockingConnectionPool.from_url(
                settings.REDIS_URL,
                socket_timeout=2,
                socket_connect_timeout=2,
                max_connections=50,
                timeout=5,
            )
            storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                connection_pool=pool,  # type: ignore[arg-type]
            )
            self.shared = MovingWindowRateLimiter(storage)
        self.shared_down_until = 0.0


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Limiters] = (
    weakref.WeakKeyDictionary()
)


def _for_this_loop() -> _Limiters:
    loop = asyncio.get_running_loop()
    limiters = _limiters.get(loop)
    if limiters is None:
        limiters = _limiters[loop] = _Limiters()
    return limiters


def reset() -> None:
    """Forget every limiter (tests switch settings)."""
    _limiters.clear()


def _messages_item() -> RateLimitItem:
    window = max(1, round(settings.LIVE_RATE_WINDOW_SECONDS))
    return RateLimitItemPerSecond(settings.LIVE_MESSAGES_PER_WINDOW, window)


async def message_allowed(*, user_id: int) -> bool:
    """Count one `message.send` of this user; False if it is over LIVE_MESSAGES_PER_WINDOW in
    LIVE_RATE_WINDOW_SECONDS (then it is not counted)."""
    return await _hit(_messages_item(), "messages", str(user_id))


async def _hit(item: RateLimitItem, *identifiers: str) -> bool:
    limiters = _for_this_loop()
    shared = limiters.shared
    if shared is not None and time.monotonic() >= limiters.shared_down_until:
        try:
            return await shared.hit(item, *identifiers)
        except Exception as exc:  # Redis unreachable: count here instead
            limiters.shared_down_until = time.monotonic() + SHARED_BACKOFF_SECONDS
            logger.warning("live rate limit: Redis failed (%s); counting per process", exc)
    return await limiters.local.hit(item, *identifiers)
