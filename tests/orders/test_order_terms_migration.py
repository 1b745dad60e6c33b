"""Migration orders 0003 backfills the terms of existing orders from their listings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.migrations import migrate_to, migrate_to_newest

BEFORE = [("orders", "0002_payments")]
AFTER = [("orders", "0003_order_terms")]


@pytest.mark.django_db(transaction=True)
def test_existing_orders_get_their_listing_terms_and_the_migration_reverses():
    apps = migrate_to(BEFORE)
    User = apps.get_model("auth", "User")
    Item = apps.get_model("orders", "Item")
    Order = apps.get_model("orders", "Order")
    buyer = User.objects.create(username="old-buyer")
    creator = User.objects.create(username="old-creator")
    item = Item.objects.create(
        creator=creator,
        title="Old listing",
        description="As it is today.",
        base_price=Decimal("120.00"),
        item_type="PRODUCT",
    )
    old = Order.objects.create(buyer=buyer, creator=creator, item=item, final_price=Decimal("99"))

    try:
        apps = migrate_to(AFTER)
        migrated = apps.get_model("orders", "Order").objects.get(pk=old.pk)
        assert (
            migrated.item_title,
            migrated.item_description,
            migrated.item_type,
            migrated.listed_price,
            migrated.final_price,
        ) == ("Old listing", "As it is today.", "PRODUCT", Decimal("120.00"), Decimal("99.00"))

        apps = migrate_to(BEFORE)
        back = apps.get_model("orders", "Order").objects.get(pk=old.pk)
        assert not hasattr(back, "item_title")
        assert back.final_price == Decimal("99.00")
    finally:
        migrate_to(AFTER)
        apps = MigrationExecutor(connection).loader.project_state(AFTER).apps
        apps.get_model("orders", "Order").objects.filter(pk=old.pk).delete()
        # Every app back at its newest migration, for the tests that run after this one.
        migrate_to_newest()
