"""Payments became their own app (`payments`): their models leave this app's state only.

The tables stay where they are (orders_payment, orders_refund, ...): payments/migrations/0001_initial
takes the same models into its state with db_table set to these names, so no row moves.
Deleted children first (Refund and Payout point at Payment) so the state stays consistent.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_order_terms"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Refund"),
                migrations.DeleteModel(name="Payout"),
                migrations.DeleteModel(name="Payment"),
                migrations.DeleteModel(name="CreatorAccount"),
                migrations.DeleteModel(name="StripeEvent"),
            ],
            database_operations=[],
        ),
    ]
