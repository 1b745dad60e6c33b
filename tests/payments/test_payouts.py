"""Completion pays the creator: a Transfer of total - fee from the charge, once per order."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from orders import services
from payments.models import CreatorAccount, Payout
from tests.payments.conftest import make_event

pytestmark = pytest.mark.django_db


def complete(order, buyer, creator, capture):
    services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
    services.order_move(order=order, actor=creator, to_status="DELIVERED")
    with capture(execute=True):
        services.order_move(order=order, actor=buyer, to_status="COMPLETED")


def test_completion_transfers_total_minus_fee_to_the_creator(
    order,
    buyer,
    creator,
    stripe_double,
    stripe_paid,
    connected_creator,
    django_capture_on_commit_callbacks,
):
    payment = stripe_paid(order)

    complete(order, buyer, creator, django_capture_on_commit_callbacks)

    [sent] = stripe_double.posts("/v1/transfers")
    assert sent.params["amount"] == "40500"  # 450.00 - 45.00 fee, in cents
    assert sent.params["currency"] == "eur"
    assert sent.params["destination"] == connected_creator.stripe_account_id
    assert sent.params["source_transaction"] == payment.stripe_tx_id
    assert sent.params["transfer_group"] == f"order-{order.pk}"
    assert sent.params["metadata[order_id]"] == str(order.pk)
    assert sent.idempotency_key == f"payout-order-{order.pk}"
    payout = Payout.objects.get()
    assert payout.status == "PAID"
    assert payout.stripe_transfer_id.startswith("tr_")
    assert payout.amount + payment.platform_fee == payment.total_amount


def test_a_failed_transfer_stays_retryable_and_the_retry_sends_the_same_key(
    order,
    buyer,
    creator,
    stripe_double,
    stripe_paid,
    connected_creator,
    django_capture_on_commit_callbacks,
):
    stripe_paid(order)
    stripe_double.fail("POST", "/v1/transfers", status=500)

    complete(order, buyer, creator, django_capture_on_commit_callbacks)

    payout = Payout.objects.get()
    assert payout.status == "FAILED"
    assert "Simulated Stripe outage" in payout.last_error
    order.refresh_from_db()
    assert order.status == "COMPLETED"  # the move itself committed

    call_command("payments_retry", "--min-age", "0")

    payout.refresh_from_db()
    assert payout.status == "PAID"
    first, second = stripe_double.posts("/v1/transfers")
    assert first.idempotency_key == second.idempotency_key == f"payout-order-{order.pk}"
    assert first.params == second.params
    # Retrying again is harmless: nothing left to do.
    call_command("payments_retry", "--min-age", "0")
    assert len(stripe_double.posts("/v1/transfers")) == 2


def test_without_a_connected_account_the_payout_waits_until_the_creator_connects(
    api, order, buyer, creator, stripe_double, stripe_paid, deliver,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    stripe_paid(order)
    complete(order, buyer, creator, django_capture_on_commit_callbacks)
    assert Payout.objects.get().status == "WAITING_FOR_ACCOUNT"
    assert api(buyer).get(f"/api/orders/{order.pk}/payment").json()["payout_status"] == (
        "WAITING_FOR_ACCOUNT"
    )
    assert stripe_double.posts("/v1/transfers") == []

    connected = api(creator).post("/api/payments/connect")
    assert connected.status_code == 200
    account_id = connected.json()["account_id"]
    assert connected.json()["payouts_enabled"] is False
    assert Payout.objects.get().status == "WAITING_FOR_ACCOUNT"

    # Onboarding finished at Stripe; the account.updated event says so.
    stripe_double.accounts[account_id]["payouts_enabled"] = True
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(make_event("account.updated", stripe_double.accounts[account_id]))

    assert response.status_code == 200
    assert CreatorAccount.objects.get(user=creator).payouts_enabled is True
    payout = Payout.objects.get()
    assert payout.status == "PAID"
    [sent] = stripe_double.posts("/v1/transfers")
    assert sent.params["destination"] == account_id


def test_connect_creates_one_express_account_and_an_onboarding_link(api, creator, stripe_double):
    first = api(creator).post("/api/payments/connect")
    second = api(creator).post("/api/payments/connect")

    assert first.status_code == second.status_code == 200
    [created] = stripe_double.posts("/v1/accounts")
    assert created.params["type"] == "express"
    assert created.params["metadata[user_id]"] == str(creator.pk)
    assert created.idempotency_key == f"account-user-{creator.pk}"
    assert len(stripe_double.posts("/v1/account_links")) == 2
    assert first.json()["account_id"] == second.json()["account_id"]
    assert first.json()["onboarding_url"].startswith("https://connect.stripe.com/")
    assert first.json()["simulated"] is False
    link = stripe_double.posts("/v1/account_links")[0]
    assert link.params["type"] == "account_onboarding"
    assert link.params["account"] == first.json()["account_id"]


def test_connect_needs_a_login(api):
    assert api(None).post("/api/payments/connect").status_code == 401


def test_an_out_of_order_account_update_does_not_disable_payouts(
    api, creator, stripe_double, deliver
):
    account_id = api(creator).post("/api/payments/connect").json()["account_id"]
    old_snapshot = dict(stripe_double.accounts[account_id])  # payouts_enabled: False
    stripe_double.accounts[account_id]["payouts_enabled"] = True
    deliver(make_event("account.updated", stripe_double.accounts[account_id]))

    deliver(make_event("account.updated", old_snapshot))  # the older event arrives last

    assert CreatorAccount.objects.get(user=creator).payouts_enabled is True
