"""Sending runs in the worker's task, which retries a transient failure (SMTP down) with backoff
until the digest gets through; nothing is lost or sent twice meanwhile."""

from __future__ import annotations

import smtplib

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from echo_site.celery import app
from notify.errors import NotifyTransientError
from notify.models import Notification

pytestmark = pytest.mark.django_db


def test_the_task_retries_a_transient_failure_until_the_mail_gets_through(
    buyer, creator, order, monkeypatch
):
    real_send = EmailMultiAlternatives.send
    attempts: list[int] = []

    def flaky(self, fail_silently=False):
        attempts.append(1)
        if len(attempts) < 3:
            raise smtplib.SMTPServerDisconnected("connection lost")
        return real_send(self, fail_silently=fail_silently)

    monkeypatch.setattr(EmailMultiAlternatives, "send", flaky)
    result = app.tasks["notify.send_due"].apply()  # as the worker runs it (eager: retries inline)
    assert result.successful(), result.traceback
    assert len(attempts) == 3
    assert len(mail.outbox) == 1  # once, after two failures
    assert not Notification.objects.filter(user=creator, done_at__isnull=True).exists()


def test_the_retries_back_off_and_give_up_in_the_end(buyer, creator, order, monkeypatch):
    task = app.tasks["notify.send_due"]
    assert NotifyTransientError in task.autoretry_for
    assert task.retry_backoff and task.retry_backoff_max <= 600

    def down(self, fail_silently=False):
        raise smtplib.SMTPConnectError(421, b"try again later")

    monkeypatch.setattr(EmailMultiAlternatives, "send", down)
    result = task.apply()
    assert result.failed() and isinstance(result.result, NotifyTransientError)
    assert mail.outbox == []
    row = Notification.objects.get(user=creator)
    assert row.sent_email_at is None and row.done_at is None  # the next scheduled run sends it
