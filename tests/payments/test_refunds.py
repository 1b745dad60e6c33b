"""Refunds: cancelling a paid order refunds it; each refund happens once; never more than paid."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from echo_site.errors import ServiceError
from orders import services
from payments import services as payments
from payments.models import Payment, Payout, Refund
from tests.payments.test_payouts import complete

pytestmark = pytest.mark.django_db


def test_cancelling_a_paid_order_refunds_it_in_full(
    api, order, creator, stripe_double, stripe_paid, django_capture_on_commit_callbacks
):
    payment = stripe_paid(order)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(creator).patch(f"/api/orders/{order.pk}/status", {"status": "CANCELLED"})

    assert response.status_code == 200
    [sent] = stripe_double.posts("/v1/refunds")
    refund = Refund.objects.get()
    assert sent.params["amount"] == "45000"
    assert sent.params["payment_intent"] == payment.payment_intent_id
    assert sent.params["metadata[order_id]"] == str(order.pk)
    assert sent.idempotency_key == f"refund-{refund.pk}"
    assert refund.status == "SUCCEEDED"
    payment.refresh_from_db()
    assert payment.status == "REFUNDED"
    assert payment.refunded_amount == payment.total_amount
    assert response.json()["is_paid"] is False


def test_the_same_key_refunds_once_however_often_the_caller_retries(
    order, stripe_double, stripe_paid, django_capture_on_commit_callbacks
):
    payment = stripe_paid(order)
    with django_capture_on_commit_callbacks(execute=True):
        first = payments.refund_create(
            payment=payment, amount=Decimal("100.00"), idempotency_key="dispute-7"
        )
        again = payments.refund_create(
            payment=payment, amount=Decimal("100.00"), idempotency_key="dispute-7"
        )
    assert first.pk == again.pk
    assert Refund.objects.count() == 1
    assert len(stripe_double.posts("/v1/refunds")) == 1
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("100.00")
    assert payment.status == "PARTIALLY_REFUNDED"


def test_a_reused_key_with_another_amount_is_409(order, stripe_paid):
    payment = stripe_paid(order)
    payments.refund_create(payment=payment, amount=Decimal("10.00"), idempotency_key="k")
    with pytest.raises(ServiceError) as caught:
        payments.refund_create(payment=payment, amount=Decimal("20.00"), idempotency_key="k")
    assert caught.value.code == "idempotency_key_reused"


def test_refunds_never_exceed_what_was_paid(order, stripe_paid):
    payment = stripe_paid(order)
    payments.refund_create(payment=payment, amount=Decimal("400.00"), idempotency_key="a")

    with pytest.raises(ServiceError) as caught:
        payments.refund_create(payment=payment, amount=Decimal("50.01"), idempotency_key="b")

    assert caught.value.code == "refund_exceeds_paid"
    assert caught.value.http_status == 409
    assert caught.value.extra["refundable_amount"] == "50.00"
    rest = payments.refund_create(payment=payment, idempotency_key="c")  # full remainder
    assert rest.amount == Decimal("50.00")
    payment.refresh_from_db()
    assert payment.status == "REFUNDED"
    with pytest.raises(ServiceError):
        payments.refund_create(payment=payment, amount=Decimal("0.01"), idempotency_key="d")


def test_an_unpaid_payment_cannot_be_refunded(api, order, buyer, stripe_double):
    api(buyer).post(f"/api/orders/{order.pk}/payment")
    with pytest.raises(ServiceError) as caught:
        payments.refund_create(payment=Payment.objects.get(), idempotency_key="x")
    assert caught.value.code == "payment_not_refundable"


def test_a_failed_refund_is_retried_with_the_same_key(
    api, order, creator, stripe_double, stripe_paid, django_capture_on_commit_callbacks
):
    stripe_paid(order)
    stripe_double.fail("POST", "/v1/refunds", status=500)
    with django_capture_on_commit_callbacks(execute=True):
        api(creator).patch(f"/api/orders/{order.pk}/status", {"status": "CANCELLED"})
    refund = Refund.objects.get()
    assert refund.status == "FAILED"

    call_command("payments_retry", "--min-age", "0")

    refund.refresh_from_db()
    assert refund.status == "SUCCEEDED"
    first, second = stripe_double.posts("/v1/refunds")
    assert first.idempotency_key == second.idempotency_key == f"refund-{refund.pk}"


def test_a_refund_after_the_payout_reverses_the_matching_part_of_the_transfer(
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
    payout = Payout.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        partial = payments.refund_create(
            payment=payment, amount=Decimal("100.00"), idempotency_key="dispute-1"
        )

    # 100.00 of 450.00 refunded: the creator gives back 100 * 405/450 = 90.00.
    [reversal] = stripe_double.posts(f"/v1/transfers/{payout.stripe_transfer_id}/reversals")
    assert reversal.params["amount"] == "9000"
    assert reversal.idempotency_key == f"refund-{partial.pk}-reversal"
    partial.refresh_from_db()
    assert partial.stripe_reversal_id.startswith("trr_")

    with django_capture_on_commit_callbacks(execute=True):
        payments.refund_create(payment=payment, idempotency_key="dispute-2")

    payout.refresh_from_db()
    assert payout.reversed_amount == payout.transfer_amount == Decimal("405.00")
    payment.refresh_from_db()
    assert payment.refunded_amount == payment.total_amount


def test_a_refund_before_the_payout_makes_the_transfer_smaller(
    order,
    buyer,
    creator,
    stripe_double,
    stripe_paid,
    connected_creator,
    django_capture_on_commit_callbacks,
):
    payment = stripe_paid(order)
    services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
    with django_capture_on_commit_callbacks(execute=True):
        payments.refund_create(payment=payment, amount=Decimal("45.00"), idempotency_key="goodwill")
    services.order_move(order=order, actor=creator, to_status="DELIVERED")
    with django_capture_on_commit_callbacks(execute=True):
        services.order_move(order=order, actor=buyer, to_status="COMPLETED")

    [sent] = stripe_double.posts("/v1/transfers")
    assert sent.params["amount"] == "36450"  # 405.00 - 45.00 * 405/450
    assert [r for r in stripe_double.requests if r.path.endswith("/reversals")] == []


def test_a_payment_arriving_after_cancellation_is_refunded(
    api, order, buyer, stripe_double, deliver, django_capture_on_commit_callbacks
):
    from tests.payments.conftest import make_event

    api(buyer).post(f"/api/orders/{order.pk}/payment")
    api(buyer).patch(f"/api/orders/{order.pk}/status", {"status": "CANCELLED"})
    assert Refund.objects.count() == 0  # nothing was paid yet
    intent = stripe_double.succeed_intent(Payment.objects.get().payment_intent_id)

    with django_capture_on_commit_callbacks(execute=True):
        deliver(make_event("payment_intent.succeeded", intent))

    assert len(stripe_double.posts("/v1/refunds")) == 1
    assert Payment.objects.get().status == "REFUNDED"


def test_a_refund_made_on_the_stripe_dashboard_is_recorded_from_charge_refunded(
    order, stripe_double, stripe_paid, deliver
):
    from tests.payments.conftest import make_event

    payment = stripe_paid(order)
    charge = stripe_double.charges[payment.stripe_tx_id]
    charge["amount_refunded"] = 5000

    assert deliver(make_event("charge.refunded", charge)).status_code == 200
    assert deliver(make_event("charge.refunded", charge)).status_code == 200  # a later event

    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("50.00")
    assert payment.status == "PARTIALLY_REFUNDED"
    assert Refund.objects.get().status == "SUCCEEDED"
    assert stripe_double.posts("/v1/refunds") == []  # nothing sent back to Stripe
