"""Without STRIPE_SECRET_KEY the whole flow runs on the simulated gateway, over REST."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from echo_site import realtime
from echo_site.realtime import order_group, user_group
from payments import live as payments_live
from payments.models import Payout, Refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def broadcasts(monkeypatch):
    """What payments hand to echo_site.realtime, as it would go out: only after commit."""
    sent: list[tuple[list[str], dict]] = []
    real = realtime.broadcast_on_commit

    def record(*, groups, event, data):
        groups = list(groups)
        real(groups=groups, event=event, data=data)
        transaction.on_commit(lambda: sent.append((groups, {"event": event, "data": data})))

    monkeypatch.setattr(payments_live, "broadcast_on_commit", record)
    return sent


def events(broadcasts, name):
    return [(groups, message["data"]) for groups, message in broadcasts if message["event"] == name]


def test_pay_accept_deliver_complete_then_the_payout_runs_when_the_creator_connects(
    api, order, buyer, creator, broadcasts, django_capture_on_commit_callbacks
):
    def call(user, method, path, body=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(api(user), method)(path, body or {})
        assert response.status_code in (200, 201), response.content
        return response.json()

    paid = call(buyer, "post", f"/api/orders/{order.pk}/payment")
    assert paid["status"] == "SUCCEEDED"
    assert paid["simulated"] is True
    assert paid["stripe_tx_id"].startswith("sim_")
    assert paid["publishable_key"] == ""
    assert paid["platform_fee"] == "45.00"
    [(groups, data)] = events(broadcasts, "payment.succeeded")
    assert set(groups) == {order_group(order.pk), user_group(buyer.pk), user_group(creator.pk)}
    assert data["order_id"] == order.pk
    assert data["payment"]["total_amount"] == "450.00"
    json.dumps(data)  # plain JSON values only

    shown = call(buyer, "get", f"/api/orders/{order.pk}")
    assert shown["is_paid"] is True
    assert shown["payments_simulated"] is True

    call(creator, "patch", f"/api/orders/{order.pk}/status", {"status": "IN_PROGRESS"})
    call(creator, "patch", f"/api/orders/{order.pk}/status", {"status": "DELIVERED"})
    call(buyer, "patch", f"/api/orders/{order.pk}/status", {"status": "COMPLETED"})
    assert call(buyer, "get", f"/api/orders/{order.pk}/payment")["payout_status"] == (
        "WAITING_FOR_ACCOUNT"
    )

    connected = call(creator, "post", "/api/payments/connect")
    assert connected["simulated"] is True
    assert connected["payouts_enabled"] is True
    assert connected["account_id"].startswith("sim_acct_")

    payment = call(creator, "get", f"/api/orders/{order.pk}/payment")
    assert payment["payout_status"] == "PAID"
    assert payment["payout"]["amount"] == "405.00"
    assert payment["payout"]["stripe_transfer_id"].startswith("sim_tr_")
    assert [d["payout"]["status"] for _, d in events(broadcasts, "payout.paid")] == ["PAID"]
    assert events(broadcasts, "payout.waiting")


def test_cancelling_a_paid_order_refunds_it(
    api, order, buyer, creator, broadcasts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        api(buyer).post(f"/api/orders/{order.pk}/payment")
        api(creator).patch(f"/api/orders/{order.pk}/status", {"status": "IN_PROGRESS"})
        cancelled = api(creator).patch(f"/api/orders/{order.pk}/status", {"status": "CANCELLED"})

    assert cancelled.status_code == 200
    payment = api(buyer).get(f"/api/orders/{order.pk}/payment").json()
    assert payment["status"] == "REFUNDED"
    assert payment["refunded_amount"] == "450.00"
    [refund] = payment["refunds"]
    assert refund["status"] == "SUCCEEDED"
    assert refund["stripe_refund_id"].startswith("sim_re_")
    assert Refund.objects.count() == 1
    assert not Payout.objects.exists()
    [(groups, data)] = events(broadcasts, "payment.refunded")
    assert user_group(buyer.pk) in groups
    assert data["refund"]["amount"] == "450.00"


def test_a_broadcast_never_announces_a_rolled_back_payment(
    api, order, buyer, broadcasts, monkeypatch, django_capture_on_commit_callbacks
):
    from payments import services

    def boom(**kwargs):
        raise RuntimeError("storage failed")

    monkeypatch.setattr(services, "refund_create", boom)
    api(buyer).patch(f"/api/orders/{order.pk}/status", {"status": "CANCELLED"})  # unpaid: fine
    assert broadcasts == []
