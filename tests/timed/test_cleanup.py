"""The periodic clean-up: refresh tokens past their lifetime go, with their blacklist entries;
live ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from echo_site.background import enqueue

pytestmark = pytest.mark.django_db


def test_expired_refresh_tokens_and_their_blacklist_entries_are_flushed(buyer, creator, settings):
    old = RefreshToken.for_user(buyer)
    old.blacklist()
    with time_machine.travel(
        timezone.now() + settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] + timedelta(hours=1)
    ):
        fresh = RefreshToken.for_user(creator)
        enqueue("chat.cleanup")
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [fresh["jti"]]
    assert not BlacklistedToken.objects.exists()


@pytest.mark.services
def test_stale_presence_entries_are_removed_from_redis_and_fresh_ones_stay():
    import time

    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    key = "echo:presence:order.999999"
    try:
        client.hset(
            key, mapping={"1|buyer|dead": time.time() - 5, "2|creator|live": time.time() + 60}
        )
        enqueue("chat.cleanup")
        assert set(client.hkeys(key)) == {b"2|creator|live"}
    finally:
        client.delete(key)
        client.close()
