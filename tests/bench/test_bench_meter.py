"""The bench's PostgreSQL meter counts the CPU of every backend of its database over the period:
one there at the start from its reading then, one that appears from zero, one that exits up to
its last reading, and none of another database."""

from __future__ import annotations

import os
import time
import uuid

import psycopg
import pytest

from bench.meter import PgBackends
from bench.system import create_database, drop_database

pytestmark = pytest.mark.services

BUSY = "SELECT count(*) FROM generate_series(1, 3000000)"


@pytest.mark.timeout(60)
def test_backends_that_come_and_go_are_counted_and_other_databases_are_not() -> None:
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    name = f"echo_bench_meter_{uuid.uuid4().hex[:8]}"
    other_name = f"{name}_other"
    db_url = create_database(server, name)
    other_url = create_database(server, other_name)
    leaving = psycopg.connect(db_url, autocommit=True)
    try:
        with psycopg.connect(other_url, autocommit=True) as other:
            meter = PgBackends(db_url, poll_s=0.1)
            with psycopg.connect(db_url, autocommit=True) as arriving:
                arriving.execute(BUSY)
                other.execute(BUSY)  # another database's backend: not counted
                time.sleep(0.5)
                leaving.execute(BUSY)
                time.sleep(0.5)
                leaving.close()
                time.sleep(0.5)
                result = meter.finish()
    finally:
        leaving.close()
        drop_database(server, name)
        drop_database(server, other_name)
    assert result["backends"] == 2
    assert result["backends_new"] == 1
    assert result["backends_gone"] == 1
    # Two busy queries of ~0.1-0.5 s each ran in the period on the database's backends.
    assert result["cpu_s"] >= 0.1
