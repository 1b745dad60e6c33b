"""Push end to end: the buyer turns push on in the browser and closes the page; the creator sends
a message; the sender delivers it to the push endpoint, encrypted so the browser can read it.

No real push service is reachable here, so the page's PushManager hands out a subscription whose
endpoint is a local HTTP server of this test (tests/notify/test_push.py's PushService) and whose
keys the test holds; everything else (the settings page, its service worker, the REST calls, the
sender, pywebpush's encryption) is the real thing.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from notify.errors import NotifyTransientError
from notify.models import NotificationPreference, PushSubscription
from notify.sending import notify_send_due
from notify.vapid_keys import new_key_pair
from tests.live.servers import Daphne
from tests.notify.test_push import PushService, b64url, decrypt, public_bytes

from .conftest import Browsing, _chromium_ready, screenshot, wait_live

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

FAKE_PUSH_MANAGER = """
(() => {
  const SUB = %s;
  let current = null;
  window.__subscribed = null;
  Notification.requestPermission = async () => "granted";
  PushManager.prototype.subscribe = async function (options) {
    window.__subscribed = {
      userVisibleOnly: options.userVisibleOnly,
      keyBytes: new Uint8Array(options.applicationServerKey).length,
    };
    current = {
      endpoint: SUB.endpoint,
      toJSON: () => SUB,
      unsubscribe: async () => { current = null; return true; },
    };
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();
"""


def off_the_loop(work: Callable[[], Any]) -> Any:
    """Run database work on a thread of its own (Playwright keeps a loop running on this one)."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(work())
        except Exception as exc:  # re-raised below
            result.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if isinstance(result[0], Exception):
        raise result[0]
    return result[0]


@pytest.fixture
def vapid_env(settings: Any) -> dict[str, str]:
    public, private = new_key_pair()
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = public, private
    settings.PUSH_SERVICE_HOSTS = ["127.0.0.1"]  # the test's local push service, plain http
    settings.PUSH_SERVICE_ALLOW_HTTP = True
    return {"VAPID_PUBLIC_KEY": public, "VAPID_PRIVATE_KEY": private}


@pytest.fixture
def push_site(transactional_db: None, tmp_path: Path, vapid_env: dict[str, str]) -> Iterator[Any]:
    server = Daphne(
        redis_url=settings.REDIS_URL, log_path=tmp_path / "daphne.log", extra_env=vapid_env
    )
    yield server
    server.stop()


@pytest.fixture
def push_browsing(push_site: Any) -> Iterator[Browsing]:
    _chromium_ready()
    session = Browsing(push_site.http)
    yield session
    session.close()


def test_push_on_then_page_closed_then_a_message_arrives_at_the_push_endpoint(
    push_browsing, buyer, creator, password, order
):
    service = PushService()
    try:
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        endpoint = service.url("/push/buyer-chromium")
        sub = {
            "endpoint": endpoint,
            "keys": {"p256dh": b64url(public_bytes(key)), "auth": b64url(auth)},
        }

        page = push_browsing.signed_in("buyer", password)
        page.context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(sub))
        page.goto("/settings/notifications")
        button = page.get_by_role("button", name="Turn on push notifications")
        expect(button).to_be_enabled()
        button.click()
        expect(page.locator("#push-state")).to_have_text(
            "Push notifications are on in this browser."
        )
        assert page.evaluate("window.__subscribed") == {"userVisibleOnly": True, "keyBytes": 65}
        assert (
            page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => r && r.scope)")
            == push_browsing.base + "/"
        )
        screenshot(page, "notification-settings-push-on")
        page.context.close()  # the buyer has no page open any more

        stored = off_the_loop(lambda: PushSubscription.objects.get(endpoint=endpoint))
        assert stored.user_id == buyer.pk

        creator_page = push_browsing.signed_in("creator", password)
        creator_page.goto(f"/orders/{order.pk}/")
        wait_live(creator_page)
        creator_page.get_by_label("Message", exact=True).fill("The sketch is ready for you")
        creator_page.get_by_role("button", name="Send").click()
        expect(
            creator_page.locator("#messages li.msg", has_text="The sketch is ready")
        ).to_have_count(1)

        deadline = time.monotonic() + 20
        while not service.received and time.monotonic() < deadline:
            try:
                off_the_loop(lambda: notify_send_due(now=timezone.now() + timedelta(seconds=1)))
            except NotifyTransientError:
                pass
            time.sleep(0.5)
        assert len(service.received) == 1
        payload = decrypt({"key": key, "auth": auth}, service.received[0]["body"])
        assert payload["url"] == f"/orders/{order.pk}/"
        assert "creator: The sketch is ready for you" in payload["body"]
        assert push_browsing.errors == []
    finally:
        service.close()


def test_push_off_removes_the_subscription(push_browsing, buyer, password):
    sub = {
        "endpoint": "https://push.example.net/send/buyer-off",
        "keys": {"p256dh": "BKeyOfTheBrowser", "auth": "authsecret"},
    }
    page = push_browsing.signed_in("buyer", password)
    page.context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(sub))
    page.goto("/settings/notifications")
    page.get_by_role("button", name="Turn on push notifications").click()
    expect(page.locator("#push-state")).to_have_text("Push notifications are on in this browser.")
    assert off_the_loop(lambda: PushSubscription.objects.filter(user=buyer).count()) == 1
    page.get_by_role("button", name="Turn off push notifications").click()
    expect(page.locator("#push-state")).to_have_text("Push notifications are off in this browser.")
    assert off_the_loop(lambda: PushSubscription.objects.filter(user=buyer).count()) == 0
    with page.expect_response(
        lambda r: r.url.endswith("/api/me/notifications") and r.request.method == "PATCH"
    ):
        page.get_by_label("Email me what I missed").uncheck()
    prefs = off_the_loop(lambda: NotificationPreference.objects.get(user=buyer))
    assert prefs.email_enabled is False and prefs.push_enabled is False
    assert push_browsing.errors == []
