"""The services pass: a digest through a real SMTP server (aiosmtpd) and two senders racing on
PostgreSQL, each row going out exactly once."""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import threading
import time
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection

from notify.models import Notification
from notify.sending import notify_send_due
from orders import services
from tests.orders.test_order_move_concurrency import race

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse_rcpt: set[str] = set()  # addresses answered "550" at RCPT TO
        self.data_answer = "250 OK"  # e.g. "554 ..." to reject the message after DATA
        self.attempts = 0

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.attempts += 1
        if address in self.refuse_rcpt:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if not self.data_answer.startswith("250"):
            return self.data_answer
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(settings: Any) -> Any:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd's start() connects to its port: name a free one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.SITE_URL = "https://echo.example.com"
    settings.DEFAULT_FROM_EMAIL = "ECHO <no-reply@echo.example.com>"
    yield inbox
    controller.stop()


def test_a_digest_through_a_real_smtp_server(smtp_server, buyer, creator, make_order, later):
    first, second = make_order(), make_order()
    Notification.objects.all().delete()
    services.message_post(order=first, sender=buyer, content="About the logo <b>colours</b>")
    services.message_post(order=second, sender=buyer, content="And the second order")
    notify_send_due(now=later(10))
    assert len(smtp_server.messages) == 1
    mail_from, rcpt_tos, raw = smtp_server.messages[0]
    assert rcpt_tos == ["creator@example.com"]
    assert mail_from == "no-reply@echo.example.com"
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"] == "creator <creator@example.com>"
    assert parsed["List-Unsubscribe"].strip().startswith("<https://echo.example.com/unsubscribe/")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    html = parsed.get_body(preferencelist=("html",)).get_content()
    assert "buyer: About the logo <b>colours</b>" in text
    assert "About the logo &lt;b&gt;colours&lt;/b&gt;" in html  # escaped in HTML
    for order in (first, second):
        assert f"https://echo.example.com/orders/{order.pk}/" in text
        assert f'href="https://echo.example.com/orders/{order.pk}/"' in html


def test_smtp_down_raises_a_transient_error_and_keeps_the_rows(
    buyer, creator, order, later, settings
):
    from notify.errors import NotifyTransientError

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    with pytest.raises(NotifyTransientError):
        notify_send_due(now=later(0))
    assert Notification.objects.get(user=creator).sent_email_at is None


@pytest.mark.parametrize("where", ["rcpt", "data"])
def test_a_bounce_from_the_smtp_server_is_logged_without_the_address_and_not_retried(
    smtp_server, buyer, creator, order, later, caplog, where
):
    if where == "rcpt":
        smtp_server.refuse_rcpt.add(creator.email)
    else:
        smtp_server.data_answer = "554 5.7.1 Message rejected"
    with caplog.at_level(logging.INFO):
        notify_send_due(now=later(0))  # no NotifyTransientError: retrying would not help
    assert smtp_server.messages == []
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("notify"))
    assert "addr-" in ours  # (the SMTP server's own log, mail.log, is not ours)
    assert creator.email not in ours and "creator@" not in ours
    assert Notification.objects.get(user=creator).done_at is not None
    tried = smtp_server.attempts
    notify_send_due(now=later(5))
    assert smtp_server.attempts == tried  # not sent again


def test_two_senders_at_once_send_each_row_once(buyer, creator, make_order, later, monkeypatch):
    for _ in range(3):
        order = make_order()
        services.message_post(order=order, sender=creator, content="for the buyer")
    # (the creator's own posts mark those orders read for them: only this one is news to them)
    services.message_post(order=make_order(), sender=buyer, content="for the creator")
    sent: list[list[str]] = []
    lock = threading.Lock()

    def slow_send(self: EmailMultiAlternatives, fail_silently: bool = False) -> int:
        time.sleep(0.3)  # the other sender runs meanwhile
        with lock:
            sent.append(list(self.to))
        return 1

    monkeypatch.setattr(EmailMultiAlternatives, "send", slow_send)
    now = later(30)
    results = race(lambda i: notify_send_due(now=now), n=4)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(sent) == sorted(
        [["creator <creator@example.com>"], ["buyer <buyer@example.com>"]]
    )
    assert not Notification.objects.filter(done_at__isnull=True).exists()
    assert mail.outbox == []
    connection.close()
