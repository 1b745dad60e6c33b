"""A column added to an existing table must not break the processes still running the release
before it (a rolling deploy: old processes serve against the migrated schema for a while). Such a
column is either nullable or has a database default (`db_default`), so the old code's INSERTs,
which do not name it, still succeed. The baseline is the schema as it was before the first
migrations that added columns to live tables (issue 18 and 19's); every later column is checked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.models import NOT_PROVIDED
from django.utils import timezone

from orders.models import Item

# The last migration of each app before columns were first added to its existing tables.
BASELINE = [("orders", "0004_payments_move_out"), ("payments", "0001_initial"),
            ("disputes", "0001_initial")]  # fmt: skip


def test_columns_added_to_existing_tables_need_nothing_from_old_code():
    old_apps = MigrationLoader(None, ignore_no_migrations=True).project_state(BASELINE).apps
    unsafe, checked = [], 0
    for app_label, _ in BASELINE:
        for model in apps.get_app_config(app_label).get_models():
            try:
                old_model = old_apps.get_model(app_label, model._meta.model_name)
            except LookupError:
                continue  # a table of its own: no old code writes to it
            old_columns = {field.column for field in old_model._meta.concrete_fields}
            for field in model._meta.concrete_fields:
                if field.column in old_columns:
                    continue
                checked += 1
                if not field.null and field.db_default is NOT_PROVIDED:
                    unsafe.append(f"{model._meta.label}.{field.name}")
    assert checked > 0  # the check sees the columns added since the baseline
    assert unsafe == [], f"NOT NULL columns without a database default: {unsafe}"


@pytest.mark.django_db
def test_an_old_process_insert_takes_the_database_defaults(creator):
    # What the release before inserts for a listing: only the columns it knew.
    old_columns = ["creator_id", "title", "description", "base_price", "item_type",
                   "is_archived", "created_at", "updated_at"]  # fmt: skip
    now = timezone.now()
    values = [creator.pk, "Old", "", Decimal("10.00"), "SERVICE", False, now, now]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Item._meta.db_table} ({', '.join(old_columns)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(values))})",
            values,
        )
    item = Item.objects.get(title="Old")
    assert (item.delivery_days, item.revisions_included) == (7, None)
