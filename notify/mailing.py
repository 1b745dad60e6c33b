"""One email per send: the digest of a user's due rows, plain text + HTML, RFC 8058 headers."""

from __future__ import annotations

import logging
import smtplib
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from .errors import NotifyRejected, NotifyTransientError
from .models import MESSAGE_KINDS, Notification
from .selectors import address_ref, describe, order_url
from .services import unsubscribe_token

logger = logging.getLogger(__name__)


def unsubscribe_url(*, user_id: int) -> str:
    path = reverse("notify-unsubscribe", kwargs={"token": unsubscribe_token(user_id=user_id)})
    return f"{settings.SITE_URL}{path}"


def _sections(user: Any, rows: list[Notification]) -> list[dict[str, Any]]:
    """Rows grouped per order, and a dispute's thread apart from its order (its own link), in
    the order each first appears."""
    by_order: dict[tuple[int, int | None], dict[str, Any]] = {}
    for row in rows:
        title = row.order.item_title
        if row.dispute_id is not None:
            title = f"Dispute #{row.dispute_id} on {title}"
        section = by_order.setdefault(
            (row.order_id, row.dispute_id),
            {
                "order_id": row.order_id,
                "dispute_id": row.dispute_id,
                "title": title,
                "url": order_url(user=user, row=row),
                "open_label": "Open the dispute" if row.dispute_id else "Open the order",
                "events": [],
                "messages": [],
            },
        )
        if row.kind in MESSAGE_KINDS:
            section["messages"].append(
                {"sender": row.payload.get("sender", ""), "excerpt": row.payload.get("excerpt", "")}
            )
        else:
            section["events"].append(describe(row))
    return list(by_order.values())


def build_digest(*, user: Any, rows: list[Notification]) -> EmailMultiAlternatives:
    name = user.get_full_name() or user.get_username()
    sections = _sections(user, rows)
    unsubscribe = unsubscribe_url(user_id=user.pk)
    context = {
        "name": name,
        "sections": sections,
        "unsubscribe_url": unsubscribe,
        "settings_url": f"{settings.SITE_URL}/settings/notifications",
    }
    messages = sum(len(s["messages"]) for s in sections)
    subject = (
        f"ECHO: {messages} unread message{'s' if messages != 1 else ''}"
        if messages and all(not s["events"] for s in sections)
        else f"ECHO: news on {len(sections)} order{'s' if len(sections) != 1 else ''}"
    )
    mail = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("notify/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((name, user.email))],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    mail.attach_alternative(render_to_string("notify/digest.html", context), "text/html")
    return mail


def send_digest(*, user: Any, rows: list[Notification]) -> None:
    """Send; raises NotifyTransientError (retry later) or NotifyRejected (never retry)."""
    mail = build_digest(user=user, rows=rows)
    try:
        mail.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        logger.warning("notify: recipient %s refused by SMTP", address_ref(user.email))
        raise NotifyRejected("recipient refused") from exc
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            logger.warning(
                "notify: SMTP rejected mail to %s (%s)", address_ref(user.email), exc.smtp_code
            )
            raise NotifyRejected(f"SMTP {exc.smtp_code}") from exc
        raise NotifyTransientError(f"SMTP {exc.smtp_code}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise NotifyTransientError(type(exc).__name__) from exc
