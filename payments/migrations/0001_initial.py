"""The payment models, moved here from the orders app (issue 17): state only, no table changes.

Their tables were created by orders/migrations/0002_payments and keep their names (db_table), so a
database that already holds payments keeps every row; orders/migrations/0004 removed the models
from the orders app's state first, so the models exist in exactly one app at every step.

Content types: the rows for these models are renamed from app_label "orders" to "payments" rather
than left behind and recreated, so permissions granted on them and the admin's log entries keep
pointing at the right model.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ["payment", "refund", "payout", "creatoraccount", "stripeevent"]


def _relabel(apps, old, new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        # A row under the new label wins (e.g. created by a post_migrate run): never merge two.
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)
    ContentType.objects.clear_cache()


def content_types_forward(apps, schema_editor):
    _relabel(apps, "orders", "payments")


def content_types_backward(apps, schema_editor):
    _relabel(apps, "payments", "orders")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("orders", "0004_payments_move_out"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='StripeEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_id', models.CharField(max_length=255, unique=True)),
                        ('type', models.CharField(max_length=100)),
                        ('handled', models.BooleanField(default=True)),
                        ('received_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'orders_stripeevent',
                        'ordering': ['-received_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='CreatorAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('stripe_account_id', models.CharField(blank=True, max_length=255, null=True, unique=True)),
                        ('payouts_enabled', models.BooleanField(default=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='creator_account', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'orders_creatoraccount',
                    },
                ),
                migrations.CreateModel(
                    name='Payment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(choices=[('stripe', 'Stripe'), ('simulated', 'Simulated')], max_length=10)),
                        ('status', models.CharField(choices=[('REQUIRES_PAYMENT', 'Requires payment'), ('SUCCEEDED', 'Succeeded'), ('FAILED', 'Failed'), ('REFUNDED', 'Refunded'), ('PARTIALLY_REFUNDED', 'Partially refunded')], default='REQUIRES_PAYMENT', max_length=20)),
                        ('currency', models.CharField(max_length=3)),
                        ('total_amount', models.DecimalField(decimal_places=2, max_digits=10)),
                        ('platform_fee', models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True)),
                        ('refunded_amount', models.DecimalField(decimal_places=2, default=0, max_digits=10)),
                        ('payment_intent_id', models.CharField(blank=True, max_length=255, null=True, unique=True)),
                        ('client_secret', models.CharField(blank=True, default='', max_length=255)),
                        ('stripe_tx_id', models.CharField(blank=True, default='', max_length=255)),
                        ('payment_date', models.DateTimeField(blank=True, null=True)),
                        ('failure_message', models.CharField(blank=True, default='', max_length=500)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('order', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='payment', to='orders.order')),
                    ],
                    options={
                        'db_table': 'orders_payment',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Payout',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=10)),
                        ('status', models.CharField(choices=[('WAITING_FOR_ACCOUNT', "Waiting for the creator's account"), ('PENDING', 'Pending'), ('PAID', 'Paid'), ('FAILED', 'Failed'), ('NOT_NEEDED', 'Nothing to pay')], max_length=20)),
                        ('destination', models.CharField(blank=True, default='', max_length=255)),
                        ('transfer_amount', models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True)),
                        ('reversed_amount', models.DecimalField(decimal_places=2, default=0, max_digits=10)),
                        ('stripe_transfer_id', models.CharField(blank=True, default='', max_length=255)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('last_error', models.CharField(blank=True, default='', max_length=500)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('paid_at', models.DateTimeField(blank=True, null=True)),
                        ('creator', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payouts', to=settings.AUTH_USER_MODEL)),
                        ('payment', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='payout', to='payments.payment')),
                    ],
                    options={
                        'db_table': 'orders_payout',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='Refund',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('idempotency_key', models.CharField(max_length=100)),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=10)),
                        ('reason', models.CharField(blank=True, default='', max_length=200)),
                        ('status', models.CharField(choices=[('PENDING', 'Pending'), ('SUCCEEDED', 'Succeeded'), ('FAILED', 'Failed')], default='PENDING', max_length=10)),
                        ('stripe_refund_id', models.CharField(blank=True, default='', max_length=255)),
                        ('reversal_amount', models.DecimalField(decimal_places=2, default=0, max_digits=10)),
                        ('stripe_reversal_id', models.CharField(blank=True, default='', max_length=255)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('last_error', models.CharField(blank=True, default='', max_length=500)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('completed_at', models.DateTimeField(blank=True, null=True)),
                        ('payment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refunds', to='payments.payment')),
                    ],
                    options={
                        'db_table': 'orders_refund',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='payment',
                    constraint=models.CheckConstraint(condition=models.Q(('total_amount__gt', 0)), name='payment_total_positive'),
                ),
                migrations.AddConstraint(
                    model_name='payment',
                    constraint=models.CheckConstraint(condition=models.Q(('refunded_amount__gte', 0), ('refunded_amount__lte', models.F('total_amount'))), name='payment_refunds_within_total'),
                ),
                migrations.AddConstraint(
                    model_name='payment',
                    constraint=models.CheckConstraint(condition=models.Q(('platform_fee__isnull', True), models.Q(('platform_fee__gte', 0), ('platform_fee__lte', models.F('total_amount'))), _connector='OR'), name='payment_fee_within_total'),
                ),
                migrations.AddConstraint(
                    model_name='payout',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='payout_amount_not_negative'),
                ),
                migrations.AddConstraint(
                    model_name='payout',
                    constraint=models.CheckConstraint(condition=models.Q(('transfer_amount__isnull', True), models.Q(('transfer_amount__gte', 0), ('transfer_amount__lte', models.F('amount'))), _connector='OR'), name='payout_transfer_within_amount'),
                ),
                migrations.AddConstraint(
                    model_name='payout',
                    constraint=models.CheckConstraint(condition=models.Q(('reversed_amount__gte', 0)), name='payout_reversed_not_negative'),
                ),
                migrations.AddConstraint(
                    model_name='refund',
                    constraint=models.UniqueConstraint(fields=('payment', 'idempotency_key'), name='refund_idempotency_key_unique'),
                ),
                migrations.AddConstraint(
                    model_name='refund',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='refund_amount_positive'),
                ),
                migrations.AddConstraint(
                    model_name='refund',
                    constraint=models.CheckConstraint(condition=models.Q(('reversal_amount__gte', 0), ('reversal_amount__lte', models.F('amount'))), name='refund_reversal_within_amount'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_forward, content_types_backward, elidable=False),
    ]
