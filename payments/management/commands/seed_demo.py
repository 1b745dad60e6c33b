"""Demo data for the embedded defaults: a buyer, a creator with listings, an admin.

In the payments app because it connects the creator's (simulated) payout account: a command
lives in the highest app it needs, so orders never imports payments.

Idempotent: running it again leaves existing demo users and listings as they are. With simulated
payments it also makes a delivered order with a file (the deliveries panel's demo).
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from orders import deliveries, services
from orders.attachments.services import attachment_upload
from orders.models import Delivery, Item, ItemType, Order, OrderStatus
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


# Delivery terms of the listings above (the others keep the defaults: 7 days, unlimited).
TERMS: dict[str, dict[str, Any]] = {
    "Logo design, three concepts": {"delivery_days": 5, "revisions_included": 2},
    "Podcast intro jingle": {"delivery_days": 3, "revisions_included": 1},
}
DELIVERY_MESSAGE = "Here is the jingle, mastered, with the script it follows."
DELIVERY_FILE = (
    "ECHO demo jingle script\n\n"
    "0:00 Soft synth pad fades in\n0:04 Drum fill\n0:06 Hook: 'Echo, on air'\n0:15 End\n"
)


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
                    **TERMS.get(title, {}),
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

        if payments_simulated():
            self._delivered_order(buyer=users["buyer"], creator=creator)

        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, user in users.items():
            role = "admin" if username == "admin" else username
            self.stdout.write(f"  {role:8} username={user.username}")

    def _delivered_order(self, *, buyer: Any, creator: Any) -> None:
        """A paid, accepted and delivered order with a file, for the deliveries panel."""
        if Delivery.objects.filter(order__buyer=buyer).exists():
            return
        item = Item.objects.filter(creator=creator, title="Podcast intro jingle").first()
        if item is None:
            return
        order = services.order_place(buyer=buyer, item=item)
        payments.payment_start(order=order, actor=buyer)
        services.order_move(order=order, actor=creator, to_status=OrderStatus.IN_PROGRESS)
        script = attachment_upload(
            order=order,
            uploader=creator,
            stream=io.BytesIO(DELIVERY_FILE.encode()),
            name="jingle-script.txt",
        )
        deliveries.delivery_submit(
            order=order, creator=creator, message=DELIVERY_MESSAGE, attachment_ids=[script.pk]
        )
