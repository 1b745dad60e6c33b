"""The payment gateway: one interface, two implementations.

`StripeGateway` talks to Stripe through the real `stripe` package (`stripe.StripeClient`); tests
give it an HTTP client double. `SimulatedGateway` is the embedded default when STRIPE_SECRET_KEY is
unset: payments confirm at once and every id starts with "sim_".

Amounts cross this boundary as integer cents, never as floats.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

import stripe
from django.conf import settings

CENT = Decimal("0.01")


class GatewayError(Exception):
    """A gateway call failed. The message is safe to store and show (no keys)."""


def to_cents(amount: Decimal) -> int:
    """Decimal major units -> integer cents; refuses floats and sub-cent amounts."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{amount} has more than two decimal places")
    return int(amount * 100)


def from_cents(cents: int) -> Decimal:
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError("cents must be an integer")
    return (Decimal(cents) / 100).quantize(CENT)


@dataclass(frozen=True)
class IntentInfo:
    id: str
    client_secret: str
    status: str  # Stripe's PaymentIntent status: "succeeded", "requires_payment_method", ...
    charge_id: str
    amount_cents: int
    currency: str
    last_error: str = ""


@dataclass(frozen=True)
class ChargeInfo:
    id: str
    payment_intent_id: str
    amount_cents: int
    amount_refunded_cents: int


@dataclass(frozen=True)
class AccountInfo:
    id: str
    payouts_enabled: bool


class PaymentGateway(Protocol):
    simulated: bool

    def create_payment_intent(
        self,
        *,
        amount_cents: int,
        currency: str,
        transfer_group: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> IntentInfo: ...

    def retrieve_payment_intent(self, intent_id: str) -> IntentInfo: ...

    def retrieve_charge(self, charge_id: str) -> ChargeInfo: ...

    def create_transfer(
        self,
        *,
        amount_cents: int,
        currency: str,
        destination: str,
        source_transaction: str,
        transfer_group: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str: ...

    def create_refund(
        self,
        *,
        payment_intent_id: str,
        amount_cents: int,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str: ...

    def create_transfer_reversal(
        self,
        *,
        transfer_id: str,
        amount_cents: int,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str: ...

    def create_account(
        self, *, email: str, metadata: dict[str, str], idempotency_key: str
    ) -> AccountInfo: ...

    def retrieve_account(self, account_id: str) -> AccountInfo: ...

    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str: ...


def _charge_id(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(value["id"])


def intent_from_stripe(pi: dict[str, Any]) -> IntentInfo:
    """A PaymentIntent as Stripe's JSON has it (API response or webhook payload)."""
    last_error = pi.get("last_payment_error") or {}
    return IntentInfo(
        id=str(pi["id"]),
        client_secret=pi.get("client_secret") or "",
        status=str(pi["status"]),
        charge_id=_charge_id(pi.get("latest_charge")),
        amount_cents=int(pi["amount"]),
        currency=str(pi["currency"]),
        last_error=str(last_error.get("message") or "") if last_error else "",
    )


def charge_from_stripe(ch: dict[str, Any]) -> ChargeInfo:
    return ChargeInfo(
        id=str(ch["id"]),
        payment_intent_id=_charge_id(ch.get("payment_intent")),
        amount_cents=int(ch["amount"]),
        amount_refunded_cents=int(ch["amount_refunded"]),
    )


def account_from_stripe(acct: dict[str, Any]) -> AccountInfo:
    return AccountInfo(id=str(acct["id"]), payouts_enabled=bool(acct.get("payouts_enabled")))


class StripeGateway:
    """Stripe Connect, separate charges and transfers, through `stripe.StripeClient`."""

    simulated = False

    def __init__(
        self,
        *,
        api_key: str,
        http_client: stripe.HTTPClient | None = None,
        max_network_retries: int = 2,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key, http_client=http_client, max_network_retries=max_network_retries
        )

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except stripe.StripeError as exc:
            # user_message / the error code never carry the API key.
            detail = exc.user_message or exc.code or type(exc).__name__
            raise GatewayError(f"Stripe: {detail}"[:500]) from exc
        # A StripeObject is not a dict; work on plain values.
        return result.to_dict() if hasattr(result, "to_dict") else result

    def create_payment_intent(
        self,
        *,
        amount_cents: int,
        currency: str,
        transfer_group: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> IntentInfo:
        pi = self._call(
            self._client.v1.payment_intents.create,
            params={
                "amount": amount_cents,
                "currency": currency,
                "transfer_group": transfer_group,
                "metadata": metadata,
                "automatic_payment_methods": {"enabled": True},
            },
            options={"idempotency_key": idempotency_key},
        )
        return intent_from_stripe(pi)

    def retrieve_payment_intent(self, intent_id: str) -> IntentInfo:
        return intent_from_stripe(self._call(self._client.v1.payment_intents.retrieve, intent_id))

    def retrieve_charge(self, charge_id: str) -> ChargeInfo:
        return charge_from_stripe(self._call(self._client.v1.charges.retrieve, charge_id))

    def create_transfer(
        self,
        *,
        amount_cents: int,
        currency: str,
        destination: str,
        source_transaction: str,
        transfer_group: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str:
        tr = self._call(
            self._client.v1.transfers.create,
            params={
                "amount": amount_cents,
                "currency": currency,
                "destination": destination,
                "source_transaction": source_transaction,
                "transfer_group": transfer_group,
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
        return str(tr["id"])

    def create_refund(
        self,
        *,
        payment_intent_id: str,
        amount_cents: int,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str:
        re = self._call(
            self._client.v1.refunds.create,
            params={
                "payment_intent": payment_intent_id,
                "amount": amount_cents,
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
        return str(re["id"])

    def create_transfer_reversal(
        self,
        *,
        transfer_id: str,
        amount_cents: int,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> str:
        trr = self._call(
            self._client.v1.transfers.reversals.create,
            transfer_id,
            params={"amount": amount_cents, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
        return str(trr["id"])

    def create_account(
        self, *, email: str, metadata: dict[str, str], idempotency_key: str
    ) -> AccountInfo:
        params: dict[str, Any] = {
            "type": "express",
            "metadata": metadata,
            "capabilities": {"transfers": {"requested": True}},
        }
        if email:
            params["email"] = email
        acct = self._call(
            self._client.v1.accounts.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return account_from_stripe(acct)

    def retrieve_account(self, account_id: str) -> AccountInfo:
        return account_from_stripe(self._call(self._client.v1.accounts.retrieve, account_id))

    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        link = self._call(
            self._client.v1.account_links.create,
            params={
                "account": account_id,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "type": "account_onboarding",
            },
        )
        return str(link["url"])


def _sim_id(prefix: str, idempotency_key: str | None = None) -> str:
    """A made-up id; the same idempotency key gives the same id, as Stripe answers a retry."""
    if idempotency_key is None:
        return f"sim_{prefix}_{uuid.uuid4().hex[:24]}"
    return f"sim_{prefix}_{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex[:24]}"


class SimulatedGateway:
    """The embedded default: no network. Payments succeed at once; transfers, refunds,
    reversals and accounts are made up (ids prefixed "sim_")."""

    simulated = True

    def create_payment_intent(
        self,
        *,
        amount_cents: int,
        currency: str,
        transfer_group: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> IntentInfo:
        intent_id = _sim_id("pi", idempotency_key)
        return IntentInfo(
            id=intent_id,
            client_secret=f"{intent_id}_secret_simulated",
            status="succeeded",
            charge_id=_sim_id("ch", idempotency_key),
            amount_cents=amount_cents,
            currency=currency,
        )

    def retrieve_payment_intent(self, intent_id: str) -> IntentInfo:
        raise GatewayError("The simulated gateway keeps no intents to retrieve.")

    def retrieve_charge(self, charge_id: str) -> ChargeInfo:
        raise GatewayError("The simulated gateway keeps no charges to retrieve.")

    def create_transfer(self, **kwargs: Any) -> str:
        return _sim_id("tr")

    def create_refund(self, **kwargs: Any) -> str:
        return _sim_id("re")

    def create_transfer_reversal(self, **kwargs: Any) -> str:
        return _sim_id("trr")

    def create_account(
        self, *, email: str, metadata: dict[str, str], idempotency_key: str
    ) -> AccountInfo:
        return AccountInfo(id=_sim_id("acct"), payouts_enabled=True)

    def retrieve_account(self, account_id: str) -> AccountInfo:
        return AccountInfo(id=account_id, payouts_enabled=True)

    def create_account_link(self, *, account_id: str, refresh_url: str, return_url: str) -> str:
        return f"{return_url}{'&' if '?' in return_url else '?'}simulated_onboarding=1"


# Tests set this to a recording double; production leaves it None (stripe's default client).
http_client_override: stripe.HTTPClient | None = None


@lru_cache(maxsize=4)
def _stripe_gateway(api_key: str, http_client: Any, retries: int) -> StripeGateway:
    return StripeGateway(api_key=api_key, http_client=http_client, max_network_retries=retries)


def is_simulated() -> bool:
    return not settings.STRIPE_SECRET_KEY


def get_gateway() -> PaymentGateway:
    if is_simulated():
        return SimulatedGateway()
    return _stripe_gateway(
        settings.STRIPE_SECRET_KEY, http_client_override, settings.STRIPE_MAX_NETWORK_RETRIES
    )
