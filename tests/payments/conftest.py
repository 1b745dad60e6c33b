"""Stripe without Stripe's servers: the real `stripe` package over a recording HTTP client.

`StripeDouble` answers like Stripe's API (JSON shapes, ids, idempotent replays of a repeated
Idempotency-Key) and records every request. Webhooks are signed with Stripe's real scheme.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

from payments import gateway

SECRET_KEY = "sk_test_51EchoTestsOnlyNotARealKey"
PUBLISHABLE_KEY = "pk_test_51EchoTestsOnly"
WEBHOOK_SECRET = "whsec_echo_tests_only"


class Recorded(dict):
    """One request as it went over the wire."""

    @property
    def path(self) -> str:
        return self["path"]

    @property
    def params(self) -> dict[str, str]:
        return self["params"]

    @property
    def idempotency_key(self) -> str | None:
        return self["headers"].get("Idempotency-Key")


class StripeDouble(stripe.HTTPClient):
    name = "echo-test-double"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Recorded] = []
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.accounts: dict[str, dict[str, Any]] = {}
        self._replays: dict[str, tuple[str, int]] = {}
        # (method, path prefix, status, times left, retryable)
        self._failures: list[tuple[str, str, int, int, bool]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # --- test controls ----------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path_prefix: str,
        *,
        status: int = 500,
        times: int = 1,
        retryable: bool = False,
    ) -> None:
        """The next `times` matching requests answer `status` with a Stripe error body.

        Not retryable: the answer says `Stripe-Should-Retry: false`, so the stripe package gives
        up at once; retryable: the package retries by itself (same request, same key).
        """
        self._failures.append((method.upper(), path_prefix, status, times, retryable))

    def posts(self, path_prefix: str) -> list[Recorded]:
        return [
            r for r in self.requests if r["method"] == "POST" and r.path.startswith(path_prefix)
        ]

    def succeed_intent(self, intent_id: str) -> dict[str, Any]:
        """What happens at Stripe when the buyer's card goes through."""
        intent = self.intents[intent_id]
        charge_id = f"ch_3Test{next(self._ids):08d}"
        intent.update(status="succeeded", latest_charge=charge_id, amount_received=intent["amount"])
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "payment_intent": intent_id,
            "paid": True,
            "refunded": False,
            "status": "succeeded",
            "transfer_group": intent["transfer_group"],
        }
        return intent

    def fail_intent(self, intent_id: str) -> dict[str, Any]:
        intent = self.intents[intent_id]
        intent.update(
            status="requires_payment_method",
            last_payment_error={"code": "card_declined", "message": "Your card was declined."},
        )
        return intent

    # --- stripe.HTTPClient ------------------------------------------------------------------

    def _sleep_time_seconds(self, num_retries: int) -> float:
        return 0.0

    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> tuple[str, int, dict[str, str]]:
        parts = urlsplit(url)
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        record = Recorded(
            method=method.upper(),
            path=parts.path,
            params=dict(parse_qsl(body or parts.query, keep_blank_values=True)),
            headers=dict(headers or {}),
        )
        with self._lock:
            self.requests.append(record)
            for index, (m, prefix, status, times, retryable) in enumerate(self._failures):
                if m == record["method"] and record.path.startswith(prefix):
                    if times <= 1:
                        self._failures.pop(index)
                    else:
                        self._failures[index] = (m, prefix, status, times - 1, retryable)
                    return self._error(status, retryable)
            key = record.idempotency_key if record["method"] == "POST" else None
            if key and key in self._replays:
                content, status = self._replays[key]
                return content, status, {"Request-Id": "req_replay", "Idempotent-Replayed": "true"}
            status, obj = self._route(record)
            content = json.dumps(obj)
            if key and status == 200:
                self._replays[key] = (content, status)
            return content, status, {"Request-Id": f"req_{next(self._ids)}"}

    def _error(self, status: int, retryable: bool) -> tuple[str, int, dict[str, str]]:
        body = {"error": {"type": "api_error", "message": "Simulated Stripe outage."}}
        # The stripe package looks the header up in lower case (requests' headers are
        # case-insensitive; a plain dict is not).
        headers = {"Request-Id": "req_err"}
        if not retryable:
            headers["stripe-should-retry"] = "false"
        return json.dumps(body), status, headers

    def _route(self, r: Recorded) -> tuple[int, dict[str, Any]]:
        p, m, q = r.path, r["method"], r.params
        n = next(self._ids)
        meta = {k[len("metadata[") : -1]: v for k, v in q.items() if k.startswith("metadata[")}
        if m == "POST" and p == "/v1/payment_intents":
            intent_id = f"pi_3Test{n:08d}"
            self.intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": int(q["amount"]),
                "amount_received": 0,
                "currency": q["currency"],
                "client_secret": f"{intent_id}_secret_Zx{n}",
                "status": "requires_payment_method",
                "latest_charge": None,
                "last_payment_error": None,
                "metadata": meta,
                "transfer_group": q.get("transfer_group"),
                "livemode": False,
            }
            return 200, self.intents[intent_id]
        if m == "GET" and p.startswith("/v1/payment_intents/"):
            return 200, self.intents[p.rsplit("/", 1)[1]]
        if m == "GET" and p.startswith("/v1/charges/"):
            return 200, self.charges[p.rsplit("/", 1)[1]]
        if m == "POST" and p == "/v1/transfers":
            return 200, {
                "id": f"tr_1Test{n:08d}",
                "object": "transfer",
                "amount": int(q["amount"]),
                "amount_reversed": 0,
                "currency": q["currency"],
                "destination": q["destination"],
                "source_transaction": q.get("source_transaction"),
                "transfer_group": q.get("transfer_group"),
                "metadata": meta,
                "reversed": False,
            }
        if m == "POST" and p.startswith("/v1/transfers/") and p.endswith("/reversals"):
            return 200, {
                "id": f"trr_1Test{n:08d}",
                "object": "transfer_reversal",
                "amount": int(q["amount"]),
                "transfer": p.split("/")[3],
                "metadata": meta,
            }
        if m == "POST" and p == "/v1/refunds":
            intent = self.intents.get(q["payment_intent"], {})
            charge = self.charges.get(intent.get("latest_charge") or "", {})
            if charge:
                charge["amount_refunded"] += int(q["amount"])
                charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            return 200, {
                "id": f"re_3Test{n:08d}",
                "object": "refund",
                "amount": int(q["amount"]),
                "charge": charge.get("id"),
                "payment_intent": q["payment_intent"],
                "status": "succeeded",
                "metadata": meta,
            }
        if m == "POST" and p == "/v1/accounts":
            account_id = f"acct_1Test{n:08d}"
            self.accounts[account_id] = {
                "id": account_id,
                "object": "account",
                "type": q.get("type"),
                "email": q.get("email"),
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
                "metadata": meta,
            }
            return 200, self.accounts[account_id]
        if m == "GET" and p.startswith("/v1/accounts/"):
            return 200, self.accounts[p.rsplit("/", 1)[1]]
        if m == "POST" and p == "/v1/account_links":
            return 200, {
                "object": "account_link",
                "created": int(time.time()),
                "expires_at": int(time.time()) + 300,
                "url": f"https://connect.stripe.com/setup/e/{q['account']}/Test{n}",
            }
        return 404, {"error": {"type": "invalid_request_error", "message": f"No route {p}"}}


@pytest.fixture
def stripe_double(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeDouble]:
    """Stripe mode (secret key set) with the HTTP client replaced by the recording double."""
    double = StripeDouble()
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    monkeypatch.setattr(gateway, "http_client_override", double)
    gateway._stripe_gateway.cache_clear()
    yield double
    gateway._stripe_gateway.cache_clear()


# --- Webhooks, signed like Stripe signs them ----------------------------------------------------


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


_event_ids = itertools.count(1)


def make_event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> str:
    event = {
        "id": event_id or f"evt_1Test{next(_event_ids):010d}",
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    return json.dumps(event)


def post_webhook(client: Any, payload: str, signature: str | None = None) -> Any:
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return client.post(
        "/api/payments/webhook", data=payload, content_type="application/json", **headers
    )


@pytest.fixture
def deliver(client: Any) -> Callable[..., Any]:
    """`deliver(payload)` posts a correctly signed delivery with Django's plain test client."""

    def run(payload: str, **kwargs: Any) -> Any:
        return post_webhook(client, payload, sign(payload, **kwargs))

    return run


@pytest.fixture
def stripe_paid(stripe_double: StripeDouble, deliver: Callable[..., Any]) -> Callable[..., Any]:
    """`stripe_paid(order)`: the buyer starts paying, the card succeeds, Stripe tells us."""
    from payments import services

    def pay(order: Any) -> Any:
        payment, _ = services.payment_start(order=order, actor=order.buyer)
        intent = stripe_double.succeed_intent(payment.payment_intent_id)
        response = deliver(make_event("payment_intent.succeeded", intent))
        assert response.status_code == 200, response.content
        payment.refresh_from_db()
        return payment

    return pay


@pytest.fixture
def connected_creator(creator: Any) -> Any:
    from payments.models import CreatorAccount

    return CreatorAccount.objects.create(
        user=creator, stripe_account_id="acct_1CreatorTest0001", payouts_enabled=True
    )
