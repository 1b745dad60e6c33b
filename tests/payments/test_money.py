"""Money invariants: Decimal and integer cents only; payout + fee = total; fee stored once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments import services as payments
from payments.gateway import from_cents, to_cents
from payments.models import Payment, Payout, Refund
from tests.conftest import pay
from tests.factories import ItemFactory

PRICES = ["0.01", "0.05", "0.15", "0.25", "1.00", "9.99", "10.05", "33.33", "450.00", "999999.99"]


@pytest.mark.parametrize(
    ("total", "fee"),
    [("0.05", "0.01"), ("0.04", "0.00"), ("0.15", "0.02"), ("10.05", "1.01"), ("450.00", "45.00")],
)
def test_fee_is_ten_percent_rounded_half_up_to_the_cent(total, fee):
    assert payments.platform_fee_for(total=Decimal(total)) == Decimal(fee)


@pytest.mark.parametrize("total", PRICES)
def test_payout_plus_fee_is_the_total(total):
    total_d = Decimal(total)
    fee = payments.platform_fee_for(total=total_d)
    payment = Payment(total_amount=total_d, platform_fee=fee)
    payout = total_d - fee
    assert payout + fee == total_d
    assert payout >= 0
    # Refunding everything takes back exactly the whole payout.
    assert payments.creator_share_of(payment=payment, refunded=total_d) == payout


@pytest.mark.parametrize("total", PRICES)
def test_partial_refunds_take_back_at_most_the_payout(total):
    total_d = Decimal(total)
    payment = Payment(total_amount=total_d, platform_fee=payments.platform_fee_for(total=total_d))
    refunded = Decimal("0")
    taken = Decimal("0")
    step = max(Decimal("0.01"), (total_d / 7).quantize(Decimal("0.01")))
    while refunded < total_d:
        amount = min(step, total_d - refunded)
        before = payments.creator_share_of(payment=payment, refunded=refunded)
        after = payments.creator_share_of(payment=payment, refunded=refunded + amount)
        assert 0 <= after - before <= amount
        taken += after - before
        refunded += amount
    assert taken == total_d - payment.platform_fee


def test_cents_conversion_refuses_floats_and_fractions_of_a_cent():
    assert to_cents(Decimal("450.00")) == 45000
    assert to_cents(Decimal("0.1")) == 10
    assert from_cents(45001) == Decimal("450.01")
    with pytest.raises(TypeError):
        to_cents(450.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        to_cents(Decimal("1.005"))
    with pytest.raises(TypeError):
        payments.platform_fee_for(total=4.5)  # type: ignore[arg-type]


@pytest.mark.django_db
def test_the_fee_is_stored_at_payment_and_never_recomputed(
    buyer, creator, settings, django_capture_on_commit_callbacks
):
    from orders import services
    from payments.models import CreatorAccount

    CreatorAccount.objects.create(
        user=creator, stripe_account_id="sim_acct_x", payouts_enabled=True
    )
    order = services.order_place(buyer=buyer, item=ItemFactory(creator=creator))
    payment = pay(order)
    assert payment.platform_fee == Decimal("10.00")
    assert isinstance(payment.platform_fee, Decimal)

    settings.PLATFORM_FEE_PERCENT = Decimal("25")
    services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
    services.order_move(order=order, actor=creator, to_status="DELIVERED")
    with django_capture_on_commit_callbacks(execute=True):
        services.order_move(order=order, actor=buyer, to_status="COMPLETED")

    payment.refresh_from_db()
    assert payment.platform_fee == Decimal("10.00")
    payout = Payout.objects.get()
    assert payout.amount == Decimal("90.00")
    assert payout.status == "PAID"


def test_no_float_fields_in_the_payment_models():
    from django.db import models

    for model in (Payment, Payout, Refund):
        for field in model._meta.get_fields():
            assert not isinstance(field, models.FloatField), f"{model.__name__}.{field.name}"
