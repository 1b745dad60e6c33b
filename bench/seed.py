"""Seed the bench database through ECHO's own services; print the plan as JSON.

Run by the bench tool as a subprocess with DATABASE_URL pointing at the bench database:
    python -m bench.seed --orders 500 --disputes 10 --admins 48 --resume 250 --out plan.json

- Users are bulk-created with one precomputed password hash (hashing thousands of passwords would
  take minutes of CPU and measure nothing about the live rooms).
- Orders are placed with `orders.services.order_place`; dispute orders are paid through the
  simulated gateway (`payment_start`), accepted (`order_move` to IN_PROGRESS) and disputed
  (`dispute_open`), all through the services.
- Resume orders get `behind` messages each, bulk-inserted with consecutive seqs (the resume storm
  measures reading them back, not writing them).
- Access tokens are minted with simplejwt and the server's SECRET_KEY: the same tokens
  POST /api/auth/token returns (the bench also logs a few users in over REST to prove that path).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from typing import Any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.seed")
    parser.add_argument("--orders", type=int, default=0)
    parser.add_argument("--disputes", type=int, default=0)
    parser.add_argument("--admins", type=int, default=0)
    parser.add_argument("--resume", type=int, default=0, help="orders for the resume storm")
    parser.add_argument("--behind", type=int, default=50)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_site.settings")
    import django

    django.setup()

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from rest_framework_simplejwt.tokens import AccessToken

    from disputes import services as disputes
    from orders import services
    from orders.models import Item, Message, Order
    from payments import services as payments

    User = get_user_model()  # noqa: N806
    password_hash = make_password("bench-password-1")

    def users(prefix: str, count: int, *, staff: bool = False) -> list[Any]:
        if count <= 0:
            return []
        User.objects.bulk_create(
            [
                User(
                    username=f"{prefix}{i}",
                    email=f"{prefix}{i}@bench.invalid",
                    password=password_hash,
                    is_staff=staff,
                )
                for i in range(count)
            ],
            batch_size=1000,
        )
        return list(User.objects.filter(username__startswith=prefix).order_by("pk"))

    tokens: dict[int, str] = {}

    def token(user: Any) -> str:
        if user.pk not in tokens:
            tokens[user.pk] = str(AccessToken.for_user(user))
        return tokens[user.pk]

    def place(prefix: str, count: int) -> list[tuple[Order, Any, Any]]:
        buyers = users(f"{prefix}b", count)
        creators = users(f"{prefix}c", count)
        items = Item.objects.bulk_create(
            [
                Item(
                    creator=c,
                    title=f"bench item {i}",
                    description="bench",
                    base_price=Decimal("10.00"),
                    item_type="SERVICE",
                )
                for i, c in enumerate(creators)
            ],
            batch_size=1000,
        )
        placed = []
        for buyer, creator, item in zip(buyers, creators, items, strict=True):
            order = services.order_place(buyer=buyer, item=item)
            placed.append((order, buyer, creator))
        return placed

    plan: dict[str, Any] = {"orders": [], "disputes": [], "resume": [], "behind": args.behind}

    for order, buyer, creator in place("o", args.orders):
        plan["orders"].append(
            {
                "id": order.pk,
                "tokens": [token(buyer), token(creator)],
                "users": [buyer.pk, creator.pk],
            }
        )

    admins = users("adm", args.admins, staff=True)
    for order, buyer, creator in place("d", args.disputes):
        payments.payment_start(order=order, actor=buyer)
        order.refresh_from_db()
        services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
        dispute = disputes.dispute_open(
            order=order, opened_by=buyer, reason="The bench opened this dispute."
        )
        plan["disputes"].append(
            {
                "id": dispute.pk,
                "order_id": order.pk,
                "tokens": [token(buyer), token(creator)] + [token(a) for a in admins],
                "users": [buyer.pk, creator.pk] + [a.pk for a in admins],
            }
        )

    for order, buyer, creator in place("r", args.resume):
        with transaction.atomic():
            first = order.last_seq
            Message.objects.bulk_create(
                [
                    Message(
                        order=order,
                        seq=first + k + 1,
                        sender=buyer if k % 2 == 0 else creator,
                        content=f"backlog {k}",
                        client_id=f"backlog-{order.pk}-{k}",
                    )
                    for k in range(args.behind)
                ]
            )
            Order.objects.filter(pk=order.pk).update(last_seq=first + args.behind)
        plan["resume"].append(
            {
                "id": order.pk,
                "after_seq": first,
                "last_seq": first + args.behind,
                "tokens": [token(buyer), token(creator)],
            }
        )

    with open(args.out, "w") as fh:
        json.dump(plan, fh)
    sys.stdout.write(
        f"seeded {len(plan['orders'])} orders, {len(plan['disputes'])} disputes, "
        f"{len(plan['resume'])} resume orders\n"
    )


if __name__ == "__main__":
    main()
