"""Migration orders 0006 gives existing orders their listing's delivery terms and reverses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.migrations import migrate_to, migrate_to_newest

BEFORE = [("orders", "0005_timed_rules")]
AFTER = [("orders", "0006_deliveries_attachments")]


@pytest.mark.django_db(transaction=True)
def test_existing_orders_take_their_listings_delivery_terms():
    apps = migrate_to(BEFORE)
    User = apps.get_model("auth", "User")
    Item = apps.get_model("orders", "Item")
    Order = apps.get_model("orders", "Order")
    buyer = User.objects.create(username="old-buyer")
    creator = User.objects.create(username="old-creator")
    item = Item.objects.create(
        creator=creator, title="Old", base_price=Decimal("10"), item_type="SERVICE"
    )
    old = Order.objects.create(
        buyer=buyer,
        creator=creator,
        item=item,
        final_price=Decimal("10"),
        item_title="Old",
        item_type="SERVICE",
        listed_price=Decimal("10"),
    )
    accepted_at = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    accepted = Order.objects.create(
        buyer=buyer,
        creator=creator,
        item=item,
        final_price=Decimal("10"),
        item_title="Old",
        item_type="SERVICE",
        listed_price=Decimal("10"),
        status="IN_PROGRESS",
        accepted_at=accepted_at,
        due_at=accepted_at + timedelta(days=1),  # as if DEFAULT_DELIVERY_DAYS were 1
    )
    try:
        apps = migrate_to(AFTER)
        migrated = apps.get_model("orders", "Order").objects.get(pk=old.pk)
        listing = apps.get_model("orders", "Item").objects.get(pk=item.pk)
        assert (migrated.delivery_days, migrated.revisions_included) == (
            listing.delivery_days,
            listing.revisions_included,
        )
        assert (migrated.due_at, migrated.revisions_used) == (None, 0)
        # An accepted order's due date comes from its own frozen term now, not the setting's.
        dated = apps.get_model("orders", "Order").objects.get(pk=accepted.pk)
        assert dated.due_at == accepted_at + timedelta(days=dated.delivery_days)

        apps = migrate_to(BEFORE)
        back = apps.get_model("orders", "Order").objects.get(pk=old.pk)
        assert not hasattr(back, "delivery_days")
    finally:
        migrate_to_newest()
        apps = MigrationExecutor(connection).loader.project_state(AFTER).apps
        apps.get_model("orders", "Order").objects.filter(pk__in=[old.pk, accepted.pk]).delete()
