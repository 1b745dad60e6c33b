"""Demo data for the embedded defaults: a buyer, a creator with listings, an admin.

In the payments app because it connects the creator's (simulated) payout account: a command
lives in the highest app it needs, so orders never imports payments.

Idempotent: running it again leaves existing demo users and listings as they are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from orders import services
from orders.models import Item, ItemType, Order
from payments import services as payments
from payments.models import CreatorAccount
from payments.selectors import payments_simulated

DEMO_PASSWORD = "echo-demo-pass"  # noqa: S105 - printed on purpose, demo accounts only

LISTINGS = [
    (
        "Logo design, three concepts",
        "Three logo concepts and two rounds of revisions.",
        Decimal("450.00"),
        ItemType.SERVICE,
    ),
    (
        "Podcast intro jingle",
        "A 15-second jingle, mastered, with stems.",
        Decimal("120.00"),
        ItemType.SERVICE,
    ),
    ("Illustrated poster print", "A2 giclee print, signed.", Decimal("65.50"), ItemType.PRODUCT),
]


class Command(BaseCommand):
    help = "Create demo users (buyer, creator, admin) and listings; print the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        users = {}
        for username, staff in (("buyer", False), ("creator", False), ("admin", True)):
            user = User.objects.filter(username=username).first()
            if user is None:
                user = services.user_register(
                    username=username, email=f"{username}@echo.example", password=DEMO_PASSWORD
                )
                if staff:
                    services.user_make_admin(user=user)
            users[username] = user

        creator = users["creator"]
        for title, description, price, item_type in LISTINGS:
            if not Item.objects.filter(creator=creator, title=title).exists():
                services.item_create(
                    creator=creator,
                    title=title,
                    description=description,
                    base_price=price,
                    item_type=item_type,
                )
        if not Order.objects.filter(buyer=users["buyer"]).exists():
            item = Item.objects.filter(creator=creator).order_by("id").first()
            assert item is not None  # noqa: S101 - created just above
            order = services.order_place(buyer=users["buyer"], item=item)
            services.message_post(
                order=order,
                sender=users["buyer"],
                content="Hi! Could the concepts lean towards a hand-drawn look?",
            )

        if payments_simulated() and not CreatorAccount.objects.filter(user=creator).exists():
            # Simulated mode: connecting enables payouts at once, so the demo shows them paid.
            payments.account_connect(
                user=creator,
                refresh_url="http://127.0.0.1:8000/",
                return_url="http://127.0.0.1:8000/",
            )

        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, user in users.items():
            role = "admin" if username == "admin" else username
            self.stdout.write(f"  {role:8} username={user.username}")
