"""GET/PATCH /api/me/notifications, push subscriptions, the push key, one-click unsubscribe."""

from __future__ import annotations

import pytest
from django.test import Client

from notify.models import NotificationPreference, OrderMute, PushSubscription
from notify.services import unsubscribe_token

pytestmark = pytest.mark.django_db

SUB = {
    "endpoint": "https://push.example.net/send/abc",
    "keys": {"p256dh": "BPublicKeyOfTheBrowser", "auth": "authsecret"},
}


def test_defaults_then_patch_then_read_back(api, buyer, order, settings):
    settings.NOTIFY_AFTER_MINUTES = 10
    got = api(buyer).get("/api/me/notifications")
    assert got.status_code == 200
    assert got.json() == {
        "email_enabled": True,
        "push_enabled": False,
        "digest_delay_minutes": 10,
        "desk_email": False,
        "muted_order_ids": [],
        "push_available": False,
    }
    patched = api(buyer).patch(
        "/api/me/notifications",
        {"email_enabled": False, "digest_delay_minutes": 30, "muted_order_ids": [order.pk]},
    )
    assert patched.status_code == 200
    body = patched.json()
    assert body["email_enabled"] is False and body["digest_delay_minutes"] == 30
    assert body["muted_order_ids"] == [order.pk]
    assert api(buyer).get("/api/me/notifications").json() == body
    unmuted = api(buyer).patch("/api/me/notifications", {"muted_order_ids": []})
    assert unmuted.json()["muted_order_ids"] == []
    assert not OrderMute.objects.exists()


def test_muting_an_order_of_others_is_refused(api, outsider, order):
    r = api(outsider).patch("/api/me/notifications", {"muted_order_ids": [order.pk]})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid"
    assert not OrderMute.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"digest_delay_minutes": -1},
        {"digest_delay_minutes": "soon"},
        {"email_enabled": "maybe"},
        {"muted_order_ids": "1"},
    ],
)
def test_bad_input_is_a_clear_400(api, buyer, body):
    assert api(buyer).patch("/api/me/notifications", body).status_code == 400


def test_only_admins_take_desk_email(api, buyer, admin_user):
    assert api(buyer).patch("/api/me/notifications", {"desk_email": True}).status_code == 403
    r = api(admin_user).patch("/api/me/notifications", {"desk_email": True})
    assert r.status_code == 200 and r.json()["desk_email"] is True


def test_anonymous_is_refused(api):
    assert api(None).get("/api/me/notifications").status_code == 401
    assert api(None).post("/api/me/push-subscriptions", SUB).status_code == 401


def test_push_subscribe_and_unsubscribe(api, buyer, creator):
    assert api(buyer).post("/api/me/push-subscriptions", SUB).status_code == 201
    assert api(buyer).post("/api/me/push-subscriptions", SUB).status_code == 201  # idempotent
    assert PushSubscription.objects.get().user == buyer
    # The same browser signed in as someone else: the subscription follows the new user.
    assert api(creator).post("/api/me/push-subscriptions", SUB).status_code == 201
    assert PushSubscription.objects.get().user == creator
    gone = api(creator).delete("/api/me/push-subscriptions", {"endpoint": SUB["endpoint"]})
    assert gone.status_code == 204
    assert not PushSubscription.objects.exists()


def test_push_subscription_needs_its_keys(api, buyer):
    r = api(buyer).post("/api/me/push-subscriptions", {"endpoint": SUB["endpoint"]})
    assert r.status_code == 400
    r = api(buyer).post("/api/me/push-subscriptions", {**SUB, "endpoint": "not a url"})
    assert r.status_code == 400


def test_push_key(api, buyer, settings):
    settings.VAPID_PUBLIC_KEY = "BPublicVapidKey"
    assert api(buyer).get("/api/me/push-key").json() == {"public_key": "BPublicVapidKey"}


def test_one_click_unsubscribe_without_login(buyer):
    token = unsubscribe_token(user_id=buyer.pk)
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/unsubscribe/{token}/")
    assert page.status_code == 200 and b"<form" in page.content
    assert not NotificationPreference.objects.filter(user=buyer).exists()  # GET changes nothing
    done = client.post(f"/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert NotificationPreference.objects.get(user=buyer).email_enabled is False


def test_a_forged_unsubscribe_token_does_nothing(buyer, creator):
    token = unsubscribe_token(user_id=buyer.pk)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    r = Client().post(f"/unsubscribe/{forged}/", {"List-Unsubscribe": "One-Click"})
    assert r.status_code == 404
    assert not NotificationPreference.objects.exists()


def test_service_worker_is_served_at_the_site_root(client):
    r = client.get("/sw.js")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/javascript")
    assert b'addEventListener("push"' in r.content


def test_push_unsubscribe_by_query_parameter(api, buyer):
    api(buyer).post("/api/me/push-subscriptions", SUB)
    r = api(buyer).delete(f"/api/me/push-subscriptions?endpoint={SUB['endpoint']}")
    assert r.status_code == 204
    assert not PushSubscription.objects.exists()
    assert api(buyer).delete("/api/me/push-subscriptions").status_code == 400


def test_an_order_id_too_large_for_the_database_is_a_400(api, buyer):
    r = api(buyer).patch("/api/me/notifications", {"muted_order_ids": [2**70]})
    assert r.status_code == 400
