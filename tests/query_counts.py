"""Counting a page's SQL queries at 1 row and at 50 (tests/*/test_query_counts.py).

A page whose count grows with its rows reads something once per row (a lazy foreign key, a
method that queries); the counts are also pinned so any new query shows in a diff.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

SIZES = (1, 50)


def query_counts(
    *,
    grow: Callable[[int], Any],
    read: Callable[[], int],
    shown: Callable[[int], int] = lambda rows: rows,
) -> list[int]:
    """The queries `read()` runs after `grow(n)` has added rows up to 1, then up to 50.

    `read` returns how many rows it rendered, checked against `shown(rows)`, so a page that
    renders nothing cannot pass for a constant one.
    """
    counts: list[int] = []
    made = 0
    for size in SIZES:
        grow(size - made)
        made = size
        with CaptureQueriesContext(connection) as captured:
            rendered = read()
        assert rendered == shown(size), f"rendered {rendered} rows, expected {shown(size)}"
        counts.append(len(captured))
        last = [query["sql"] for query in captured]
    assert counts[0] == counts[-1], (
        f"queries at {SIZES[0]} and {SIZES[-1]} rows: {counts}; at {SIZES[-1]}:\n" + "\n".join(last)
    )
    return counts
