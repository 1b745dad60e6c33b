"""Payments moved from the orders app to their own app without touching a row (issue 17).

A database migrated before the move holds a payment; migrating forward keeps its table and values,
readable through `payments.models.Payment`, and the model's content type (with the permissions that
hang on it) now says "payments".
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from payments.models import Payment
from tests.migrations import migrate_to, migrate_to_newest

BEFORE_MOVE = [("orders", "0003_order_terms")]


@pytest.fixture
def before_move() -> Iterator[Any]:
    """The app registry of a database as it was before the move; forward again afterwards."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    old_apps = migrate_to(BEFORE_MOVE)
    ContentType.objects.clear_cache()
    try:
        yield old_apps
    finally:
        migrate_to(latest)
        ContentType.objects.clear_cache()


@pytest.mark.django_db(transaction=True)
def test_a_payment_made_before_the_move_is_read_by_the_payments_app(before_move: Any) -> None:
    old_apps = before_move
    OldUser = old_apps.get_model("auth", "User")
    OldItem = old_apps.get_model("orders", "Item")
    OldOrder = old_apps.get_model("orders", "Order")
    OldPayment = old_apps.get_model("orders", "Payment")
    assert OldPayment._meta.db_table == "orders_payment"
    with pytest.raises(LookupError):
        old_apps.get_model("payments", "Payment")

    buyer = OldUser.objects.create(username="oldbuyer")
    creator = OldUser.objects.create(username="oldcreator")
    item = OldItem.objects.create(
        creator=creator, title="Logo", base_price=Decimal("50.00"), item_type="SERVICE"
    )
    order = OldOrder.objects.create(
        buyer=buyer,
        creator=creator,
        item=item,
        final_price=Decimal("50.00"),
        item_title="Logo",
        item_type="SERVICE",
        listed_price=Decimal("50.00"),
    )
    old = OldPayment.objects.create(
        order=order,
        provider="simulated",
        status="SUCCEEDED",
        currency="eur",
        total_amount=Decimal("50.00"),
        platform_fee=Decimal("5.00"),
        payment_intent_id="pi_before_the_move",
    )
    # The content type as the old code had it (earlier tests may have flushed the table).
    ContentType.objects.filter(app_label="payments", model="payment").delete()
    old_type, _ = ContentType.objects.get_or_create(app_label="orders", model="payment")
    view, _ = Permission.objects.get_or_create(
        content_type=old_type, codename="view_payment", defaults={"name": "Can view payment"}
    )

    migrate_to_newest()
    ContentType.objects.clear_cache()

    payment = Payment.objects.select_related("order").get(pk=old.pk)
    assert payment.order.pk == order.pk
    assert payment.order.buyer_id == buyer.pk
    assert payment.status == "SUCCEEDED"
    assert payment.total_amount == Decimal("50.00")
    assert payment.platform_fee == Decimal("5.00")
    assert payment.payment_intent_id == "pi_before_the_move"
    assert payment.is_paid
    # The same content type row, relabelled: the permission granted on it still applies.
    moved_type = ContentType.objects.get_for_model(Payment)
    assert moved_type.pk == old_type.pk
    assert moved_type.app_label == "payments"
    assert not ContentType.objects.filter(app_label="orders", model="payment").exists()
    assert Permission.objects.get(pk=view.pk).content_type_id == moved_type.pk
