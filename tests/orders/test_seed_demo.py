"""`manage.py seed_demo` creates the demo accounts and listings, and can run again."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from orders.models import Item, Message, Order

pytestmark = pytest.mark.django_db

User = get_user_model()


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_creates_buyer_creator_admin_and_listings():
    output = seed()

    users = {u.username: u for u in User.objects.all()}
    assert {"buyer", "creator", "admin"} <= set(users)
    assert users["admin"].is_staff
    assert not users["buyer"].is_staff and not users["creator"].is_staff
    assert Item.objects.filter(creator=users["creator"]).count() >= 2
    for name in ("buyer", "creator", "admin"):
        assert f"username={name}" in output
    assert "password" in output.lower()


def test_printed_logins_work():
    output = seed()
    password = output.split("password for all: ", 1)[1].split(")", 1)[0]
    response = APIClient().post(
        "/api/auth/token", {"username": "buyer", "password": password}, format="json"
    )
    assert response.status_code == 200, response.content


def test_seed_is_idempotent():
    seed()
    counts = (User.objects.count(), Item.objects.count(), Order.objects.count())
    messages = Message.objects.count()
    seed()
    assert (User.objects.count(), Item.objects.count(), Order.objects.count()) == counts
    assert Message.objects.count() == messages


def test_seed_demo_connects_the_demo_creator_in_simulated_mode(db):
    from django.core.management import call_command

    from payments.models import CreatorAccount

    call_command("seed_demo", stdout=StringIO())
    account = CreatorAccount.objects.get(user__username="creator")
    assert account.payouts_enabled is True


def test_seed_demo_has_a_delivered_order_with_a_file(db):
    from orders.models import Attachment, Delivery

    seed()
    seed()
    delivery = Delivery.objects.get(order__buyer__username="buyer")
    assert delivery.order.status == "DELIVERED"
    assert delivery.order.due_at is not None
    attachment = Attachment.objects.get(delivery=delivery)
    assert attachment.content_type == "text/plain"
    assert delivery.order.revisions_included == 1
