from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from orders.models import Item, ItemType


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "a-Strong-pass-42")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    creator = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Listing number {n}")
    description = "A listing made for tests."
    base_price = Decimal("100.00")
    item_type = ItemType.SERVICE
