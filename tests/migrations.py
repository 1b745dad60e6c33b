"""Moving a test database through the migration graph (the data-migration tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(targets: Sequence[tuple[str, str]]) -> Any:
    """Migrate to `targets`; the app registry of the database as it is then."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def migrate_to_newest() -> Any:
    """Every app at its newest migration again, for the tests that run after."""
    return migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())
