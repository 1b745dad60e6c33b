"""`python -m bench.rest_seed --clients 64 --orders 60 --out plan.json`: the REST scenario's
users and orders (bench/rest.py seed_rest_clients), with DATABASE_URL pointing at the bench
database; tokens signed with the server's SECRET_KEY from the environment."""

from __future__ import annotations

import argparse
import json
import os


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rest_seed")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_site.settings")
    import django

    django.setup()
    from .rest import seed_rest_clients

    clients = seed_rest_clients(count=args.clients, orders_per_client=args.orders, prefix="rest")
    with open(args.out, "w") as fh:
        json.dump([client.as_json() for client in clients], fh)


if __name__ == "__main__":
    main()
