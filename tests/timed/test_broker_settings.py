"""Where the broker is, from the environment: Redis in a database of its own next to REDIS_URL's,
CELERY_BROKER_URL when given, and the file-based broker when there is no Redis."""

from __future__ import annotations

import pytest

from tests.orders.test_settings import manage

READ = "from django.conf import settings as s; print(s.CELERY_BROKER_URL, s.CELERY_RESULT_BACKEND)"


def broker(**env: str) -> str:
    clean = {"DEBUG": "1", "REDIS_URL": "", "CELERY_BROKER_URL": "", "CELERY_REDIS_DB": "", **env}
    result = manage("shell", "-c", READ, env=clean)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "filesystem:// None"),
        ({"REDIS_URL": "redis://cache:6379/3"}, "redis://cache:6379/4 redis://cache:6379/4"),
        ({"REDIS_URL": "redis://cache:6379"}, "redis://cache:6379/1 redis://cache:6379/1"),
        (
            {"REDIS_URL": "rediss://:pw@cache:6380/0", "CELERY_REDIS_DB": "9"},
            "rediss://:pw@cache:6380/9 rediss://:pw@cache:6380/9",
        ),
        (
            {"REDIS_URL": "redis://cache:6379/0", "CELERY_BROKER_URL": "redis://queue:6379/2"},
            "redis://queue:6379/2 redis://queue:6379/2",
        ),
    ],
)
def test_the_broker_follows_the_environment(env, expected):
    assert broker(**env) == expected
