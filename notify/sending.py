"""notify_send_due: the sender the worker runs (a periodic task and after new rows).

For each user with pending outbox rows:
- rows the user can no longer see, rows on muted orders (a dispute's message: its order's mute)
  and messages they already read (the order's or the dispute's read marks) are closed unsent;
  status events on an order they have a live socket on were seen live and are closed too;
  messages in a room (the order's, or the dispute's for a dispute message) they are connected to
  wait (read soon, or sent after they leave);
- email: one digest, sent when a status event is pending (promptly) or a message has had no
  socket of the user on its room for `digest_delay_minutes`: since it came and since they left
  (chat's presence remembers when); it takes along every status event and every message whose
  room the user has not been in within the delay;
- push: the pending rows, one notification per order or dispute, only while the user has no
  open page.
Rows are claimed with a conditional update under a row lock (skip_locked): with any number of
senders each row goes out at most once per channel. A transient failure un-claims and raises
NotifyTransientError for the caller to retry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from disputes.models import DisputeReadMark
from echo_site import realtime
from orders.models import ReadMark

from . import mailing, push
from .errors import NotifyRejected, NotifyTransientError
from .models import MESSAGE_KINDS, Notification, OrderMute, PushSubscription
from .selectors import PresenceUnavailable, has_open_page, may_see, rooms_seen, row_room
from .services import preference_get

logger = logging.getLogger(__name__)


@dataclass
class SendReport:
    emails: int = 0
    pushes: int = 0
    closed: int = 0
    failed_users: list[int] = field(default_factory=list)


def _claim(*, ids: list[int], column: str, now: datetime) -> list[int]:
    """Mark `column` (sent_email_at / sent_push_at) on the rows no other sender has: ours."""
    if not ids:
        return []
    with transaction.atomic():
        free = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, done_at__isnull=True, **{f"{column}__isnull": True})
            .values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=free, **{f"{column}__isnull": True}).update(
            **{column: now}
        )
    return free


def _unclaim(*, ids: list[int], column: str, now: datetime) -> None:
    Notification.objects.filter(pk__in=ids, **{column: now}).update(**{column: None})


def _close(ids: list[int], now: datetime) -> int:
    if not ids:
        return 0
    return Notification.objects.filter(pk__in=ids, done_at__isnull=True).update(done_at=now)


def notify_send_due(*, now: datetime) -> SendReport:
    """Send what is due for every user; a user's transient failure does not stop the others.

    Raises NotifyTransientError at the end if any user's send should be retried.
    """
    report = SendReport()
    user_ids = list(
        Notification.objects.filter(done_at__isnull=True, created_at__lte=now)
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")
    )
    for user_id in user_ids:
        try:
            notify_send_user(user_id=user_id, now=now, report=report)
        except NotifyTransientError:
            logger.warning("notify: sending to user %s failed; retried later", user_id)
            report.failed_users.append(user_id)
    if report.failed_users:
        raise NotifyTransientError(f"{len(report.failed_users)} user(s) to retry")
    return report


def notify_send_user(
    *, user_id: int, now: datetime, report: SendReport | None = None
) -> SendReport:
    report = report or SendReport()
    user = get_user_model().objects.filter(pk=user_id).first()
    rows = list(
        Notification.objects.filter(user_id=user_id, done_at__isnull=True, created_at__lte=now)
        .select_related("order")
        .order_by("created_at", "id")
    )
    if user is None or not rows:
        report.closed += _close([r.pk for r in rows], now)
        return report
    order_ids = {r.order_id for r in rows}
    muted = set(
        OrderMute.objects.filter(user_id=user_id, order_id__in=order_ids).values_list(
            "order_id", flat=True
        )
    )
    marks = dict(
        ReadMark.objects.filter(user_id=user_id, order_id__in=order_ids).values_list(
            "order_id", "last_read_seq"
        )
    )
    dispute_marks = dict(
        DisputeReadMark.objects.filter(
            user_id=user_id, dispute_id__in={r.dispute_id for r in rows if r.dispute_id}
        ).values_list("dispute_id", "last_read_seq")
    )
    try:
        seen = rooms_seen(
            user_id=user_id,
            rooms={row_room(r) for r in rows} | {realtime.order_group(o) for o in order_ids},
        )
    except PresenceUnavailable as exc:
        raise NotifyTransientError("presence unavailable") from exc

    drop: list[int] = []
    pending: list[Notification] = []
    quiet_since: dict[int, float | None] = {}  # message row -> when the user left its room
    for row in rows:
        if row.dispute_id is not None:
            read = row.seq is not None and row.seq <= dispute_marks.get(row.dispute_id, 0)
        else:
            read = row.seq is not None and row.seq <= marks.get(row.order_id, 0)
        if not may_see(user=user, row=row) or row.order_id in muted or read:
            drop.append(row.pk)
        elif row.kind in MESSAGE_KINDS:
            room = seen[row_room(row)]
            if not room.online:  # while connected they wait: read soon, or sent after they leave
                quiet_since[row.pk] = room.last_seen
                pending.append(row)
        elif seen[realtime.order_group(row.order_id)].online:
            drop.append(row.pk)  # a status event seen live
        else:
            pending.append(row)
    report.closed += _close(drop, now)
    if not pending:
        return report

    pref = preference_get(user=user)
    wants_email = pref.email_enabled and bool(user.email)
    subscriptions = list(PushSubscription.objects.filter(user_id=user_id))
    wants_push = pref.push_enabled and push.push_configured() and bool(subscriptions)

    if wants_email:
        _send_email(
            user=user, pref=pref, rows=pending, quiet_since=quiet_since, now=now, report=report
        )
    if wants_push:
        _send_push(user=user, subscriptions=subscriptions, rows=pending, now=now, report=report)

    fresh = {
        r.pk: r
        for r in Notification.objects.filter(pk__in=[r.pk for r in pending], done_at__isnull=True)
    }
    finished = [
        pk
        for pk, r in fresh.items()
        if (r.sent_email_at is not None or not wants_email)
        and (r.sent_push_at is not None or not wants_push)
    ]
    report.closed += _close(finished, now)
    return report


def _email_rows(
    *,
    rows: list[Notification],
    quiet_since: dict[int, float | None],
    delay_minutes: int,
    now: datetime,
) -> list[Notification]:
    """What a digest sends now: nothing unless a status event is pending or an unread message
    has had no socket of the user on its room for the whole delay (it waited that long since it
    came, and since the user left the room); then every status event, and every message whose
    room the user has not been in within the delay (a room they left a moment ago waits)."""
    cutoff = now - timedelta(minutes=delay_minutes)

    def away(row: Notification) -> bool:
        left = quiet_since.get(row.pk)
        return left is None or datetime.fromtimestamp(left, tz=UTC) <= cutoff

    status = [r for r in rows if r.kind not in MESSAGE_KINDS]
    messages = [r for r in rows if r.kind in MESSAGE_KINDS and away(r)]
    if not status and not any(r.created_at <= cutoff for r in messages):
        return []
    chosen = {r.pk for r in status} | {r.pk for r in messages}
    return [r for r in rows if r.pk in chosen]


def _send_email(
    *,
    user: Any,
    pref: Any,
    rows: list[Notification],
    quiet_since: dict[int, float | None],
    now: datetime,
    report: SendReport,
) -> None:
    waiting = _email_rows(
        rows=[r for r in rows if r.sent_email_at is None],
        quiet_since=quiet_since,
        delay_minutes=pref.digest_delay_minutes,
        now=now,
    )
    if not waiting:
        return
    claimed = set(_claim(ids=[r.pk for r in waiting], column="sent_email_at", now=now))
    mine = [r for r in waiting if r.pk in claimed]
    if not mine:
        return
    try:
        mailing.send_digest(user=user, rows=mine)
    except NotifyRejected:
        return  # logged without the address; the rows stay sent: retrying would not help
    except NotifyTransientError:
        _unclaim(ids=list(claimed), column="sent_email_at", now=now)
        raise
    report.emails += 1


def _send_push(
    *,
    user: Any,
    subscriptions: list[PushSubscription],
    rows: list[Notification],
    now: datetime,
    report: SendReport,
) -> None:
    waiting = [r for r in rows if r.sent_push_at is None]
    if not waiting:
        return
    try:
        if has_open_page(user_id=user.pk):
            return  # they will see it on the page
    except PresenceUnavailable as exc:
        raise NotifyTransientError("presence unavailable") from exc
    claimed = set(_claim(ids=[r.pk for r in waiting], column="sent_push_at", now=now))
    mine = [r for r in waiting if r.pk in claimed]
    if not mine:
        return
    try:
        report.pushes += push.push_send(subscriptions=subscriptions, rows=mine)
    except NotifyTransientError:
        _unclaim(ids=list(claimed), column="sent_push_at", now=now)
        raise


def notify_prune(*, before: datetime) -> int:
    """Delete finished outbox rows older than `before` (a periodic task); returns how many."""
    deleted, _ = Notification.objects.filter(done_at__isnull=False, done_at__lt=before).delete()
    return deleted
