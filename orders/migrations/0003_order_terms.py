"""Orders keep the listing's terms as they were when placed (issue 15, item 4).

The new columns are added, then every existing order is backfilled from its listing as it is now
(the best record there is of what was agreed); reversing drops the columns again.
"""

from decimal import Decimal

from django.db import migrations, models

# order field -> item field, as orders.models.ORDER_TERMS says at the time of this migration.
TERMS = {
    "item_title": "title",
    "item_description": "description",
    "item_type": "item_type",
    "listed_price": "base_price",
}


def backfill_terms(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Item = apps.get_model("orders", "Item")
    items = Item.objects.filter(pk__in=Order.objects.values("item_id").distinct())
    for item in items.iterator(chunk_size=500):
        Order.objects.filter(item_id=item.pk).update(
            **{field: getattr(item, source) for field, source in TERMS.items()}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_payments"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="item_title",
            field=models.CharField(default="", max_length=150),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="order",
            name="item_description",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="order",
            name="item_type",
            field=models.CharField(
                choices=[("PRODUCT", "Product"), ("SERVICE", "Service")],
                default="",
                max_length=10,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="order",
            name="listed_price",
            field=models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=10),
            preserve_default=False,
        ),
        migrations.RunPython(backfill_terms, migrations.RunPython.noop, elidable=False),
    ]
