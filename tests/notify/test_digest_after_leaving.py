"""'No socket on that order for NOTIFY_AFTER_MINUTES', exactly: a digest about an order waits N
minutes after the user's last socket left its room (chat's presence remembers when), not N
minutes after the message came."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.core import mail
from django.utils import timezone

from chat import presence
from echo_site import realtime
from notify.models import Notification
from notify.sending import notify_send_due
from notify.services import MAX_DIGEST_DELAY_MINUTES
from orders import services

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)


def test_a_user_who_left_two_minutes_ago_gets_no_digest_until_n_minutes_after_leaving(
    buyer, creator, order, on_order
):
    t0 = timezone.now()
    leave = on_order(creator, order)
    Notification.objects.all().delete()
    services.message_post(order=order, sender=buyer, content="sent while you were here")
    with time_machine.travel(t0 + 20 * MIN, tick=False):
        leave()  # without reading it, 20 minutes after it came
    notify_send_due(now=t0 + 22 * MIN)  # the message is 22 minutes old; they left 2 ago
    assert mail.outbox == []
    notify_send_due(now=t0 + 29 * MIN)
    assert mail.outbox == []
    notify_send_due(now=t0 + 30 * MIN + timedelta(seconds=1))
    assert len(mail.outbox) == 1
    assert "buyer: sent while you were here" in mail.outbox[0].body


def test_one_connected_now_gets_none_however_old_the_message(buyer, creator, order, on_order):
    Notification.objects.all().delete()
    services.message_post(order=order, sender=buyer, content="old news")
    on_order(creator, order)
    notify_send_due(now=timezone.now() + 600 * MIN)
    assert mail.outbox == []


def test_a_socket_that_died_without_leaving_counts_until_it_was_last_alive(buyer, creator, order):
    t0 = timezone.now()
    Notification.objects.all().delete()
    services.message_post(order=order, sender=buyer, content="before you came")
    with time_machine.travel(t0 + 15 * MIN, tick=False):
        # A socket whose process was killed: it joined, never left, its entry went stale.
        async_to_sync(presence.join)(
            room=realtime.order_group(order.pk), user_id=creator.pk, role="party", channel="dead"
        )
    with time_machine.travel(t0 + 20 * MIN, tick=False):
        notify_send_due(now=t0 + 20 * MIN)
        assert mail.outbox == []  # last alive at 15 (+ the presence TTL): not 10 minutes ago
    with time_machine.travel(t0 + 27 * MIN, tick=False):
        notify_send_due(now=t0 + 27 * MIN)
    assert len(mail.outbox) == 1


def test_a_status_event_does_not_take_along_messages_of_a_room_just_left(
    buyer, creator, make_order, on_order
):
    t0 = timezone.now()
    chatty, other = make_order("IN_PROGRESS"), make_order("IN_PROGRESS")
    leave = on_order(buyer, chatty)
    Notification.objects.all().delete()
    services.message_post(order=chatty, sender=creator, content="seen on the page, unread")
    with time_machine.travel(t0 + 20 * MIN, tick=False):
        leave()
        services.order_move(order=other, actor=creator, to_status="DELIVERED")
    notify_send_due(now=t0 + 21 * MIN)
    (first,) = mail.outbox
    assert "delivered" in first.body
    assert "seen on the page, unread" not in first.body  # they left a minute ago
    notify_send_due(now=t0 + 30 * MIN + timedelta(seconds=1))
    assert len(mail.outbox) == 2
    assert "creator: seen on the page, unread" in mail.outbox[1].body


def test_last_seen_times_outlive_the_longest_digest_delay():
    assert presence.LAST_SEEN_TTL_SECONDS > MAX_DIGEST_DELAY_MINUTES * 60
