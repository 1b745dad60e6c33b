"""POST /api/payments/webhook: verified on the raw body, each event once, any arrival order."""

from __future__ import annotations

import json
import time

import pytest

from payments.models import Payment, StripeEvent
from tests.payments.conftest import make_event, post_webhook, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(api, order, buyer, stripe_double):
    """The buyer has started paying; Stripe holds an intent that has not succeeded yet."""
    api(buyer).post(f"/api/orders/{order.pk}/payment")
    return Payment.objects.get(order=order)


def assert_nothing_changed(payment):
    payment.refresh_from_db()
    assert payment.status == "REQUIRES_PAYMENT"
    assert payment.platform_fee is None
    assert not StripeEvent.objects.exists()


def assert_rejected(response):
    assert response.status_code == 400
    body = response.json()
    assert set(body) >= {"error", "code", "fields"}
    assert body["code"] == "webhook_signature_invalid"


def test_a_signed_payment_intent_succeeded_marks_the_payment_paid(
    started, stripe_double, deliver, django_capture_on_commit_callbacks
):
    intent = stripe_double.succeed_intent(started.payment_intent_id)

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(make_event("payment_intent.succeeded", intent))

    assert response.status_code == 200
    assert response.json() == {"received": True, "result": "processed"}
    started.refresh_from_db()
    assert started.status == "SUCCEEDED"
    assert started.stripe_tx_id == intent["latest_charge"]
    assert started.payment_date is not None
    assert str(started.platform_fee) == "45.00"
    assert StripeEvent.objects.count() == 1
    # The handler read the intent's current state from Stripe.
    assert any(r.path == f"/v1/payment_intents/{intent['id']}" for r in stripe_double.requests)


def test_missing_signature_is_400_and_changes_nothing(client, started, stripe_double):
    intent = stripe_double.succeed_intent(started.payment_intent_id)
    assert_rejected(post_webhook(client, make_event("payment_intent.succeeded", intent)))
    assert_nothing_changed(started)


def test_bad_signature_is_400_and_changes_nothing(client, started, stripe_double):
    payload = make_event(
        "payment_intent.succeeded", stripe_double.succeed_intent(started.payment_intent_id)
    )
    assert_rejected(post_webhook(client, payload, sign(payload, secret="whsec_someone_else")))
    assert_rejected(post_webhook(client, payload, "t=123,v1=deadbeef"))
    assert_rejected(post_webhook(client, payload, "garbage"))
    assert_nothing_changed(started)


def test_an_altered_body_is_400_and_changes_nothing(client, started, stripe_double):
    payload = make_event(
        "payment_intent.succeeded", stripe_double.succeed_intent(started.payment_intent_id)
    )
    signature = sign(payload)
    altered = payload.replace('"livemode": false', '"livemode": true')
    assert altered != payload
    assert_rejected(post_webhook(client, altered, signature))
    assert_nothing_changed(started)


def test_a_stale_timestamp_is_400_and_changes_nothing(client, started, stripe_double):
    payload = make_event(
        "payment_intent.succeeded", stripe_double.succeed_intent(started.payment_intent_id)
    )
    stale = int(time.time()) - 301
    assert_rejected(post_webhook(client, payload, sign(payload, timestamp=stale)))
    assert_nothing_changed(started)


def test_unconfigured_webhook_secret_rejects_everything(client, started, stripe_double, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = make_event("payment_intent.succeeded", {"id": started.payment_intent_id})
    assert_rejected(post_webhook(client, payload, sign(payload)))
    assert_nothing_changed(started)


def test_the_webhook_needs_no_session_and_no_csrf_token(started, stripe_double):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    intent = stripe_double.succeed_intent(started.payment_intent_id)
    payload = make_event("payment_intent.succeeded", intent)
    assert post_webhook(csrf_client, payload, sign(payload)).status_code == 200


def test_a_redelivery_answers_200_and_changes_nothing(
    started, stripe_double, deliver, django_capture_on_commit_callbacks
):
    intent = stripe_double.succeed_intent(started.payment_intent_id)
    payload = make_event("payment_intent.succeeded", intent)
    with django_capture_on_commit_callbacks(execute=True) as first:
        deliver(payload)
    started.refresh_from_db()
    paid_at = started.payment_date

    with django_capture_on_commit_callbacks(execute=True) as second:
        response = deliver(payload)

    assert response.status_code == 200
    assert response.json()["result"] == "duplicate"
    assert len(first) >= 1 and len(second) == 0  # no second broadcast
    started.refresh_from_db()
    assert started.payment_date == paid_at
    assert StripeEvent.objects.count() == 1


def test_a_late_payment_failed_does_not_undo_a_success(started, stripe_double, deliver):
    # Stripe sent payment_failed (first card declined) and then succeeded (second card); they
    # arrive the other way round.
    declined = dict(stripe_double.fail_intent(started.payment_intent_id))
    succeeded = stripe_double.succeed_intent(started.payment_intent_id)

    assert deliver(make_event("payment_intent.succeeded", succeeded)).status_code == 200
    assert deliver(make_event("payment_intent.payment_failed", declined)).status_code == 200

    started.refresh_from_db()
    assert started.status == "SUCCEEDED"
    assert StripeEvent.objects.count() == 2


def test_a_stale_success_payload_still_records_the_current_state(started, stripe_double, deliver):
    # The event's snapshot says "processing"; by the time it arrives the intent succeeded.
    snapshot = {**stripe_double.intents[started.payment_intent_id], "status": "processing"}
    stripe_double.succeed_intent(started.payment_intent_id)

    deliver(make_event("payment_intent.succeeded", snapshot))

    started.refresh_from_db()
    assert started.status == "SUCCEEDED"


def test_unknown_event_types_are_acknowledged_and_ignored(started, deliver):
    response = deliver(make_event("customer.created", {"id": "cus_123", "object": "customer"}))
    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    started.refresh_from_db()
    assert started.status == "REQUIRES_PAYMENT"


def test_an_intent_that_is_not_ours_is_acknowledged(stripe_double, deliver, db):
    stripe_double.intents["pi_other"] = {
        "id": "pi_other",
        "object": "payment_intent",
        "amount": 100,
        "currency": "eur",
        "status": "succeeded",
        "latest_charge": "ch_other",
    }
    response = deliver(make_event("payment_intent.succeeded", stripe_double.intents["pi_other"]))
    assert response.status_code == 200
    assert not Payment.objects.exists()


def test_a_handler_failing_midway_rolls_back_answers_500_and_the_retry_succeeds(
    started, stripe_double, deliver, monkeypatch, django_capture_on_commit_callbacks
):
    from payments import live

    intent = stripe_double.succeed_intent(started.payment_intent_id)
    payload = make_event("payment_intent.succeeded", intent)

    def explode(**kwargs):
        raise RuntimeError("broken after the payment row was written")

    original = live.payment_succeeded
    monkeypatch.setattr(live, "payment_succeeded", explode)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        failed = deliver(payload)

    assert failed.status_code == 500
    assert failed.json()["code"] == "server_error"
    assert callbacks == []
    assert_nothing_changed(started)

    monkeypatch.setattr(live, "payment_succeeded", original)
    retried = deliver(payload)

    assert retried.status_code == 200
    started.refresh_from_db()
    assert started.status == "SUCCEEDED"
    assert StripeEvent.objects.filter(event_id=json.loads(payload)["id"]).count() == 1


def test_stripe_unreachable_while_reading_the_object_answers_500_for_a_retry(
    started, stripe_double, deliver
):
    intent = stripe_double.succeed_intent(started.payment_intent_id)
    payload = make_event("payment_intent.succeeded", intent)
    stripe_double.fail("GET", "/v1/payment_intents/", status=500)

    assert deliver(payload).status_code == 500
    assert not StripeEvent.objects.exists()
    assert deliver(payload).status_code == 200
    started.refresh_from_db()
    assert started.status == "SUCCEEDED"


def test_a_second_webhook_secret_is_accepted(started, stripe_double, client, settings):
    # The platform endpoint and the Connect endpoint have their own signing secrets.
    settings.STRIPE_WEBHOOK_SECRET = "whsec_platform,whsec_connect"
    intent = stripe_double.succeed_intent(started.payment_intent_id)
    payload = make_event("payment_intent.succeeded", intent)
    assert post_webhook(client, payload, sign(payload, secret="whsec_connect")).status_code == 200
