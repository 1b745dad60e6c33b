"""Browser push against a local HTTP server that plays the push service and decrypts what it gets
with the real Web Push encryption (http-ece, aes128gcm) and the subscription's private key."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail

from notify.errors import NotifyTransientError
from notify.models import Notification, NotificationPreference, PushSubscription
from notify.sending import notify_send_due
from notify.vapid_keys import new_key_pair
from orders import services

pytestmark = pytest.mark.django_db


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


class PushService:
    """A push service on 127.0.0.1: records each request; answers `status`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 201
        self.delay = 0.0  # seconds before answering (a slow push service)
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                service.received.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length),
                    }
                )
                time.sleep(service.delay)
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push_service() -> Any:
    service = PushService()
    yield service
    service.close()


@pytest.fixture
def vapid(settings: Any) -> str:
    """A key pair as README says to make one (python -m notify.vapid_keys); the public key."""
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = new_key_pair()
    settings.VAPID_SUBJECT = "mailto:ops@echo.example.com"
    # The local server plays the push service (plain http on 127.0.0.1; production: https only).
    settings.PUSH_SERVICE_HOSTS = ["127.0.0.1"]
    settings.PUSH_SERVICE_ALLOW_HTTP = True
    return settings.VAPID_PUBLIC_KEY


@pytest.fixture
def browser(push_service: PushService, vapid: Any, buyer: Any) -> dict[str, Any]:
    """The buyer's browser: its own key pair and auth secret, subscribed, push on, email off."""
    key = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    sub = PushSubscription.objects.create(
        user=buyer,
        endpoint=push_service.url("/push/buyer-browser"),
        p256dh=b64url(public_bytes(key)),
        auth=b64url(auth),
    )
    NotificationPreference.objects.create(user=buyer, push_enabled=True, email_enabled=False)
    return {"key": key, "auth": auth, "subscription": sub}


def decrypt(browser: dict[str, Any], body: bytes) -> dict[str, Any]:
    plain = http_ece.decrypt(
        body, private_key=browser["key"], auth_secret=browser["auth"], version="aes128gcm"
    )
    return json.loads(plain)


def test_the_push_reaches_the_service_encrypted_and_readable_by_the_browser(
    buyer, creator, order, push_service, browser, later, vapid
):
    Notification.objects.all().delete()
    services.message_post(order=order, sender=creator, content="Your draft is ready\nsee it")
    services.message_post(order=order, sender=creator, content="And a second note")
    notify_send_due(now=later(0))
    assert len(push_service.received) == 1  # merged per order
    got = push_service.received[0]
    assert got["path"] == "/push/buyer-browser"
    assert got["headers"]["content-encoding"] == "aes128gcm"
    assert got["headers"]["authorization"].startswith("vapid t=")
    assert f"k={vapid}" in got["headers"]["authorization"]
    assert b"Your draft" not in got["body"]  # encrypted on the wire
    payload = decrypt(browser, got["body"])
    assert payload["url"] == f"/orders/{order.pk}/"
    assert payload["tag"] == f"order-{order.pk}"
    assert "2 new messages" in payload["title"]
    assert "creator: Your draft is ready" in payload["body"]
    assert mail.outbox == []
    notify_send_due(now=later(60))
    assert len(push_service.received) == 1  # once


def test_no_push_while_the_user_has_a_page_open(
    buyer, creator, order, push_service, browser, later, on_order, make_order
):
    other = make_order()
    Notification.objects.all().delete()
    leave = on_order(buyer, other)  # a page of another order is open
    services.message_post(order=order, sender=creator, content="hello")
    notify_send_due(now=later(0))
    assert push_service.received == []
    leave()
    notify_send_due(now=later(1))
    assert len(push_service.received) == 1


@pytest.mark.parametrize("status", [404, 410])
def test_an_expired_subscription_is_removed(
    buyer, creator, order, push_service, browser, later, status
):
    push_service.status = status
    Notification.objects.all().delete()
    services.message_post(order=order, sender=creator, content="hello")
    notify_send_due(now=later(0))
    assert len(push_service.received) == 1
    assert not PushSubscription.objects.filter(pk=browser["subscription"].pk).exists()


def test_a_push_service_error_is_retried(buyer, creator, order, push_service, browser, later):
    push_service.status = 503
    Notification.objects.all().delete()
    services.message_post(order=order, sender=creator, content="hello")
    with pytest.raises(NotifyTransientError):
        notify_send_due(now=later(0))
    assert Notification.objects.get(user=buyer).sent_push_at is None
    push_service.status = 201
    notify_send_due(now=later(1))
    assert len(push_service.received) == 2
    assert decrypt(browser, push_service.received[1]["body"])["url"] == f"/orders/{order.pk}/"


def test_an_endpoint_that_is_no_push_service_is_never_contacted(
    buyer, creator, order, push_service, browser, later, settings
):
    # The same local server, named as a made-up endpoint would be: not a push service host.
    settings.PUSH_SERVICE_HOSTS = ["push.services.mozilla.com"]
    Notification.objects.all().delete()
    services.message_post(order=order, sender=creator, content="hello")
    notify_send_due(now=later(0))
    assert push_service.received == []
    assert not PushSubscription.objects.filter(pk=browser["subscription"].pk).exists()


def test_push_service_hosts_match_whole_labels_over_https(settings):
    from notify.push import endpoint_allowed

    settings.PUSH_SERVICE_HOSTS = ["push.services.mozilla.com"]
    settings.PUSH_SERVICE_ALLOW_HTTP = False
    assert endpoint_allowed("https://updates.push.services.mozilla.com/wpush/v2/abc")
    assert not endpoint_allowed("http://updates.push.services.mozilla.com/wpush/v2/abc")
    assert not endpoint_allowed("https://evilpush.services.mozilla.com.attacker.net/x")
    assert not endpoint_allowed("https://notpush.services.mozilla.com@10.0.0.1/x")
    assert not endpoint_allowed("https://10.0.0.1/x")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_push_each_row_once(
    buyer, creator, make_order, push_service, browser, later
):
    from tests.orders.test_order_move_concurrency import race

    first, second = make_order(), make_order()
    Notification.objects.all().delete()
    services.message_post(order=first, sender=creator, content="for the buyer")
    services.message_post(order=second, sender=creator, content="and again")
    push_service.delay = 0.3  # the other senders run meanwhile
    now = later(0)
    results = race(lambda i: notify_send_due(now=now), n=4)
    assert not [r for r in results if isinstance(r, Exception)], results
    urls = sorted(decrypt(browser, got["body"])["url"] for got in push_service.received)
    assert urls == sorted([f"/orders/{first.pk}/", f"/orders/{second.pk}/"])  # once per order
    assert not Notification.objects.filter(done_at__isnull=True).exists()


def test_a_push_carries_no_secret(buyer, creator, order, push_service, browser, later, settings):
    Notification.objects.all().delete()
    services.message_post(order=order, sender=creator, content="hello")
    notify_send_due(now=later(0))
    payload = decrypt(browser, push_service.received[0]["body"])
    assert set(payload) == {"title", "body", "url", "tag"}
    whole = json.dumps(payload)
    for secret in (settings.SECRET_KEY, settings.VAPID_PRIVATE_KEY, browser["subscription"].auth):
        assert secret not in whole
    assert payload["url"].startswith("/")  # a path on the site, nothing signed


def test_a_dispute_message_is_pushed_with_the_dispute_page(
    buyer, creator, make_order, push_service, browser, later
):
    from disputes import services as dispute_services

    dispute = dispute_services.dispute_open(
        order=make_order("IN_PROGRESS"), opened_by=creator, reason="The brief keeps changing."
    )
    Notification.objects.all().delete()
    dispute_services.dispute_message_post(dispute=dispute, sender=creator, content="See the brief")
    notify_send_due(now=later(0))
    (got,) = push_service.received
    payload = decrypt(browser, got["body"])
    assert payload["url"] == f"/disputes/{dispute.pk}/"
    assert payload["tag"] == f"dispute-{dispute.pk}"
    assert payload["title"].startswith(f"Dispute #{dispute.pk} on ")
    assert payload["body"] == "creator: See the brief"
