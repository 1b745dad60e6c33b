"""Server-side prepared statements on Django's PostgreSQL connection.

Django's psycopg cursors bind parameters client-side: each call re-parses the query text, quotes
every value, and PostgreSQL plans the statement again. The live rooms' hot paths (storing a
message, opening an order room, replaying a timeline) run one statement each, prepared once per
connection; every call then sends only the values (docs/benchmarks.md). Errors pass through
Django's wrapper, so a unique violation is Django's IntegrityError as usual.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from django.db import connection


def fetch_prepared(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run `sql`, a statement that returns rows (a SELECT, or RETURNING), as a prepared
    statement on the current PostgreSQL connection; all its rows."""
    connection.close_if_health_check_failed()  # as Django's own cursor() does
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        # fetchall() without asking for `description` first: building the column objects was a
        # tenth of the database thread's time per message.
        return cursor.fetchall()


def sql_constants(values: Iterable[Any]) -> str:
    """`'A', 'B'` for an IN list of the code's own constants (never user input)."""
    return ", ".join(f"'{value}'" for value in sorted(str(v) for v in values))
