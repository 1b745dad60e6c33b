"""`python -m bench.db_hop`: what the live rooms' database threads save by keeping their pooled
connection between calls (chat/db.py), against handing it back to the pool after every call as
Django does at the end of a request. One process, one thread, the same one-row query, the two
ways interleaved round by round on a fresh database; prints the medians and their ratio.

Needs PostgreSQL: BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.db_hop")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args(argv)

    from .system import base_env, create_database, drop_database

    name = "echo_bench_db_hop"
    db_url = create_database(args.pg_url, name)
    os.environ.update(base_env(DATABASE_URL=db_url))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create(username="db-hop")

        def calls(hand_back: bool) -> float:
            """CPU microseconds per call."""
            started = time.process_time()
            for _ in range(args.calls):
                list(get_user_model().objects.filter(pk=user.pk).values_list("pk"))
                if hand_back:
                    connection.close()  # pooled: back to the pool, taken again next call
            return (time.process_time() - started) / args.calls * 1e6

        kept, handed = [], []
        for _ in range(args.rounds):
            kept.append(calls(False))
            handed.append(calls(True))
        connection.close()
        k, h = statistics.median(kept), statistics.median(handed)
        sys.stdout.write(
            f"kept between calls: {k:.0f} us CPU per call (median of {args.rounds} x "
            f"{args.calls})\nhanded back each call: {h:.0f} us CPU per call\n"
            f"ratio: {h / k:.2f}x\n"
        )
    finally:
        connection.close()
        connection.close_pool()
        drop_database(args.pg_url, name)


if __name__ == "__main__":
    main()
