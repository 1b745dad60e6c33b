"""notify_send_due with Django's locmem backend: what goes out by email, when, and only once."""

from __future__ import annotations

import logging
import smtplib

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from notify.errors import NotifyTransientError
from notify.models import Notification, NotificationPreference
from notify.sending import notify_send_due
from orders import services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://echo.example.com"
    settings.DEFAULT_FROM_EMAIL = "ECHO <no-reply@echo.example.com>"


def _pending(user):
    return Notification.objects.filter(user=user, done_at__isnull=True)


def test_a_status_event_goes_out_at_once_with_both_parts_and_unsubscribe_headers(
    buyer, creator, order, later
):
    creator.first_name, creator.last_name = "Cleo", "Maker"
    creator.save()
    notify_send_due(now=later(0))
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["Cleo Maker <creator@example.com>"]
    assert isinstance(sent, EmailMultiAlternatives)
    html, mimetype = sent.alternatives[0]
    assert mimetype == "text/html"
    order_link = f"https://echo.example.com/orders/{order.pk}/"
    assert order_link in sent.body and order_link in html
    assert "New order placed" in sent.body
    unsubscribe = sent.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://echo.example.com/unsubscribe/")
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert not _pending(creator).exists()


def test_each_row_is_sent_once(buyer, creator, order, later):
    notify_send_due(now=later(0))
    notify_send_due(now=later(1))
    assert len(mail.outbox) == 1


def test_messages_wait_for_the_digest_delay_then_go_in_one_digest(
    buyer, creator, make_order, later
):
    first, second = make_order(), make_order()
    Notification.objects.all().delete()  # only the messages here
    services.message_post(order=first, sender=buyer, content="Question about the first")
    services.message_post(order=first, sender=buyer, content="And another")
    services.message_post(order=second, sender=buyer, content="About the second")
    notify_send_due(now=later(9))
    assert mail.outbox == []  # NOTIFY_AFTER_MINUTES (10) not yet up
    notify_send_due(now=later(10))
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    for text in ("Question about the first", "And another", "About the second"):
        assert f"buyer: {text}" in body
    assert f"/orders/{first.pk}/" in body and f"/orders/{second.pk}/" in body
    notify_send_due(now=later(30))
    assert len(mail.outbox) == 1


def test_a_user_digest_delay_is_respected(buyer, creator, order, later):
    NotificationPreference.objects.create(user=creator, digest_delay_minutes=30)
    Notification.objects.all().delete()
    services.message_post(order=order, sender=buyer, content="hello")
    notify_send_due(now=later(10))
    assert mail.outbox == []
    notify_send_due(now=later(30))
    assert len(mail.outbox) == 1


def test_a_status_event_takes_pending_messages_along(buyer, creator, paid_order, later):
    Notification.objects.all().delete()
    services.message_post(order=paid_order, sender=creator, content="Starting now")
    services.order_move(order=paid_order, actor=creator, to_status="IN_PROGRESS")
    notify_send_due(now=later(0))
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "accepted the order" in body and "creator: Starting now" in body


def test_what_the_user_already_read_is_not_sent(buyer, creator, order, later):
    Notification.objects.all().delete()
    message, _ = services.message_post(order=order, sender=buyer, content="read me")
    services.read_mark(order=order, user=creator, seq=message.seq)
    notify_send_due(now=later(60))
    assert mail.outbox == []
    assert not _pending(creator).exists()


def test_nothing_is_sent_while_connected_to_the_order(buyer, creator, order, later, on_order):
    Notification.objects.all().delete()
    leave = on_order(creator, order)
    services.message_post(order=order, sender=buyer, content="while you are here")
    notify_send_due(now=later(60))
    assert mail.outbox == []
    assert _pending(creator).count() == 1  # waits: read soon, or sent once they leave
    leave()
    notify_send_due(now=later(60))
    assert len(mail.outbox) == 1


def test_status_events_seen_live_are_not_sent(buyer, creator, paid_order, later, on_order):
    Notification.objects.all().delete()
    on_order(buyer, paid_order)
    services.order_move(order=paid_order, actor=creator, to_status="IN_PROGRESS")
    notify_send_due(now=later(0))
    assert mail.outbox == []
    assert not _pending(buyer).exists()


def test_email_off_sends_nothing(buyer, creator, order, later):
    NotificationPreference.objects.create(user=creator, email_enabled=False)
    notify_send_due(now=later(0))
    assert mail.outbox == []
    assert not _pending(creator).exists()


def test_nothing_from_an_order_the_user_can_no_longer_see(buyer, creator, order, later):
    creator.is_active = False
    creator.save()
    notify_send_due(now=later(0))
    assert mail.outbox == []


def test_a_muted_order_sends_nothing_already_recorded(buyer, creator, order, later):
    from notify.services import preference_update

    preference_update(user=creator, muted_order_ids=[order.pk])
    notify_send_due(now=later(0))
    assert mail.outbox == []


def test_the_mail_carries_no_secret(buyer, creator, order, later, settings):
    notify_send_due(now=later(0))
    sent = mail.outbox[0]
    whole = sent.message().as_string()
    assert settings.SECRET_KEY not in whole
    assert "password" not in whole.lower()


def test_a_transient_failure_raises_and_the_rows_stay_to_retry(
    buyer, creator, order, later, monkeypatch
):
    def down(self, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("connection lost")

    monkeypatch.setattr(EmailMultiAlternatives, "send", down)
    with pytest.raises(NotifyTransientError):
        notify_send_due(now=later(0))
    row = Notification.objects.get(user=creator)
    assert row.sent_email_at is None and row.done_at is None
    monkeypatch.undo()
    notify_send_due(now=later(1))
    assert len(mail.outbox) == 1


def test_a_rejection_is_logged_without_the_address_and_not_retried(
    buyer, creator, order, later, monkeypatch, caplog
):
    def refused(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({creator.email: (550, b"no such user")})

    monkeypatch.setattr(EmailMultiAlternatives, "send", refused)
    with caplog.at_level(logging.INFO):
        notify_send_due(now=later(0))
    assert "refused" in caplog.text
    assert creator.email not in caplog.text
    assert "addr-" in caplog.text
    monkeypatch.undo()
    notify_send_due(now=later(1))
    assert mail.outbox == []


def test_presence_unreadable_is_a_transient_error_and_sends_nothing(
    buyer, creator, order, later, settings
):
    from chat import presence

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there: Redis is down
    presence.reset_store()
    with pytest.raises(NotifyTransientError):
        notify_send_due(now=later(0))
    assert mail.outbox == []
    assert Notification.objects.get(user=creator).done_at is None


def test_finished_rows_are_pruned(buyer, creator, order, later):
    from notify.sending import notify_prune

    notify_send_due(now=later(0))
    assert notify_prune(before=later(-60)) == 0
    assert notify_prune(before=later(60)) == 1
    assert not Notification.objects.exists()


def test_the_late_reminder_goes_out_by_email(buyer, creator, order, later):
    from orders import hooks

    hooks.event_happened(
        order=order, kind=hooks.EVENT_LATE, actor_id=None, data={"due_at": "2026-12-01T10:00:00Z"}
    )
    notify_send_due(now=later(0))
    to_buyer = [m for m in mail.outbox if m.to == ["buyer <buyer@example.com>"]]
    assert len(to_buyer) == 1 and "The delivery is late" in to_buyer[0].body


def test_the_desk_admin_gets_new_disputes_and_loses_them_with_staff_rights(
    buyer, creator, admin_user, make_order, later
):
    from disputes import services as dispute_services

    NotificationPreference.objects.create(user=admin_user, desk_email=True)
    first = make_order("IN_PROGRESS")
    dispute = dispute_services.dispute_open(
        order=first, opened_by=buyer, reason="The work has stopped for weeks."
    )
    notify_send_due(now=later(0))
    to_admin = [m for m in mail.outbox if m.to == ["admin <admin@example.com>"]]
    assert len(to_admin) == 1
    assert f"https://echo.example.com/disputes/{dispute.pk}/" in to_admin[0].body
    assert "A dispute was opened" in to_admin[0].body

    second = make_order("IN_PROGRESS")
    dispute_services.dispute_open(
        order=second, opened_by=buyer, reason="The work has stopped for weeks."
    )
    admin_user.is_staff = False
    admin_user.save()
    notify_send_due(now=later(1))
    assert len([m for m in mail.outbox if m.to == ["admin <admin@example.com>"]]) == 1
