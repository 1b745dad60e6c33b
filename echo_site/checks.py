"""System checks for the project's own rules (run by `manage.py check`, `check --deploy`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.checks import Error, register


def persistent_connections_without_pool(databases: Mapping[str, Any]) -> list[Error]:
    """Persistent connections under ASGI grow with daphne's threads (one connection per thread
    that ever served a request, up to PostgreSQL's max_connections): PostgreSQL must be used
    through the pool (DB_POOL_MAX) or with CONN_MAX_AGE = 0 behind an external pooler."""
    errors = []
    for alias, db in databases.items():
        if not db.get("ENGINE", "").endswith("postgresql"):
            continue
        pooled = bool(db.get("OPTIONS", {}).get("pool"))
        if db.get("CONN_MAX_AGE", 0) != 0 and not pooled:
            errors.append(
                Error(
                    f"DATABASES[{alias!r}] keeps persistent connections (CONN_MAX_AGE="
                    f"{db.get('CONN_MAX_AGE')!r}) under ASGI without a pool.",
                    hint="Use the psycopg pool (DB_POOL_MAX) or CONN_MAX_AGE = 0.",
                    id="echo.E001",
                )
            )
    return errors


@register("echo")
def bounded_database_connections(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    return persistent_connections_without_pool(settings.DATABASES)
