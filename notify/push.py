"""Browser push through pywebpush (VAPID, aes128gcm): one notification per order."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from pywebpush import WebPushException, webpush

from .errors import NotifyTransientError
from .models import MESSAGE_KINDS, Notification, PushSubscription
from .selectors import describe
from .services import push_subscription_expired

logger = logging.getLogger(__name__)

PUSH_TTL_SECONDS = 24 * 3600
PUSH_TIMEOUT_SECONDS = 10


def push_configured() -> bool:
    return bool(settings.VAPID_PRIVATE_KEY and settings.VAPID_PUBLIC_KEY)


def endpoint_allowed(endpoint: str) -> bool:
    """A push service's URL (PUSH_SERVICE_HOSTS, https): never one a user made up, which would have
    the worker POST to any address, the internal network's included."""
    url = urlsplit(endpoint)
    host = (url.hostname or "").lower()
    if url.scheme != "https" and not (settings.PUSH_SERVICE_ALLOW_HTTP and url.scheme == "http"):
        return False
    return any(host == h or host.endswith("." + h) for h in settings.PUSH_SERVICE_HOSTS)


def payloads(rows: list[Notification]) -> list[dict[str, Any]]:
    """One payload per order (and per dispute thread): title, the latest lines, the order's (the
    dispute's) page as a relative URL."""
    by_order: dict[tuple[int, int | None], list[Notification]] = {}
    for row in rows:
        by_order.setdefault((row.order_id, row.dispute_id), []).append(row)
    out = []
    for (order_id, dispute_id), group in by_order.items():
        messages = sum(1 for r in group if r.kind in MESSAGE_KINDS)
        lines = [describe(r) for r in group[-3:]]
        title = group[0].order.item_title
        if dispute_id is not None:
            title = f"Dispute #{dispute_id} on {title}"
        if messages > 1:
            title = f"{title}: {messages} new messages"
        out.append(
            {
                "title": title,
                "body": "\n".join(lines)[:300],
                "url": f"/disputes/{dispute_id}/" if dispute_id else f"/orders/{order_id}/",
                "tag": f"dispute-{dispute_id}" if dispute_id else f"order-{order_id}",
            }
        )
    return out


def push_send(*, subscriptions: list[PushSubscription], rows: list[Notification]) -> int:
    """Send each order's payload to each subscription; returns how many pushes were accepted.

    404/410 removes the subscription. Raises NotifyTransientError if nothing got through and
    at least one failure may pass.
    """
    sent = 0
    transient: list[str] = []
    for sub in subscriptions:
        if not endpoint_allowed(sub.endpoint):
            logger.warning("notify: push subscription %s is not a push service's; removed", sub.pk)
            push_subscription_expired(subscription_id=sub.pk)
            continue
        info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
        for payload in payloads(rows):
            try:
                webpush(
                    subscription_info=info,
                    data=json.dumps(payload),
                    vapid_private_key=settings.VAPID_PRIVATE_KEY,
                    vapid_claims={"sub": settings.VAPID_SUBJECT},
                    content_encoding="aes128gcm",
                    ttl=PUSH_TTL_SECONDS,
                    timeout=PUSH_TIMEOUT_SECONDS,
                )
                sent += 1
            except WebPushException as exc:
                status = getattr(exc.response, "status_code", None)
                if status in (404, 410):
                    logger.info("notify: push subscription %s expired (%s)", sub.pk, status)
                    push_subscription_expired(subscription_id=sub.pk)
                    break
                logger.warning("notify: push to subscription %s failed (%s)", sub.pk, status)
                transient.append(str(status))
            except Exception as exc:  # network errors from requests
                logger.warning("notify: push to subscription %s failed (%s)", sub.pk, exc)
                transient.append(type(exc).__name__)
    if transient and not sent:
        raise NotifyTransientError(f"push failed: {', '.join(transient)}")
    return sent
