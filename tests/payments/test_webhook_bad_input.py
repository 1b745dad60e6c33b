"""A signed but malformed webhook event is a 400, never a 500; an oversized or unsigned body is
refused before it is read, without an ERROR traceback in the log (issue 15, item 8)."""

from __future__ import annotations

import json
import logging

import pytest

from payments.models import StripeEvent
from tests.payments.conftest import post_webhook, sign

pytestmark = pytest.mark.django_db

MALFORMED = [
    "[]",
    '"an event"',
    "123",
    "null",
    "{}",
    '{"id": 5, "type": "payment_intent.succeeded"}',
    '{"id": "evt_1Bad", "type": ["payment_intent.succeeded"]}',
    '{"id": "evt_1Bad", "type": "payment_intent.succeeded"}',
    '{"id": "evt_1Bad", "type": "payment_intent.succeeded", "data": []}',
    '{"id": "evt_1Bad", "type": "payment_intent.succeeded", "data": {"object": "pi_1"}}',
    '{"id": "evt_1Bad", "type": "payment_intent.succeeded", "data": {"object": {}}}',
    '{"id": "evt_1Bad", "type": "charge.refunded", "data": {"object": {"id": 7}}}',
    '{"id": "evt_1Bad", "type": "account.updated", "data": {"object": {"id": ""}}}',
    "[" * 100000 + "]" * 100000,
]


@pytest.mark.parametrize("payload", MALFORMED, ids=lambda p: p[:40])
def test_a_signed_malformed_event_is_400(client, stripe_double, payload, caplog):
    with caplog.at_level(logging.WARNING):
        response = post_webhook(client, payload, sign(payload))
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert not StripeEvent.objects.exists()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_signed_event_of_a_known_type_whose_object_misses_fields_is_400(
    client, stripe_double, settings
):
    settings.STRIPE_SECRET_KEY = ""  # simulated gateway: the object's own fields are read
    payload = json.dumps(
        {"id": "evt_1Sim", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi"}}}
    )
    response = post_webhook(client, payload, sign(payload))
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("signed", [False, True])
def test_an_oversized_body_is_413_without_an_error_traceback(
    client, stripe_double, settings, caplog, signed
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    payload = json.dumps({"id": "evt_1Big", "pad": "x" * 20_000})
    with caplog.at_level(logging.INFO):
        response = post_webhook(client, payload, sign(payload) if signed else None)
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "payload_too_large"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
