"""PostgreSQL connections are bounded per process: the pool's settings, what start-up refuses,
and the system check that fails on persistent connections under ASGI without a pool."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from echo_site.checks import persistent_connections_without_pool

ROOT = Path(__file__).resolve().parents[2]
PG_URL = "postgres://postgres@127.0.0.1:5432/echo_unused"

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "db = s.DATABASES['default']; "
    "print(json.dumps({'age': db['CONN_MAX_AGE'], 'pool': db.get('OPTIONS', {}).get('pool')}))"
)


def settings_process(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DB_", "DATABASE_URL", "LIVE_DB_THREADS", "SECRET_KEY", "DEBUG"))
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "echo_site.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": PG_URL,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_postgresql_is_pooled_without_persistent_connections_by_default() -> None:
    import json

    result = settings_process(f"{PROBE}")
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout)
    assert db["age"] == 0
    assert db["pool"] == {"min_size": 2, "max_size": 10, "timeout": 5.0, "max_idle": 300}


def test_the_pool_size_and_wait_come_from_the_environment() -> None:
    import json

    result = settings_process(
        PROBE, DB_POOL_MAX="24", DB_POOL_MIN="0", DB_POOL_TIMEOUT_SECONDS="1.5"
    )
    assert result.returncode == 0, result.stderr
    pool = json.loads(result.stdout)["pool"]
    assert (pool["min_size"], pool["max_size"], pool["timeout"]) == (0, 24, 1.5)


def test_no_pool_means_a_connection_per_request_never_a_persistent_one() -> None:
    import json

    result = settings_process(PROBE, DB_POOL_MAX="0")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"age": 0, "pool": None}


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DB_CONN_MAX_AGE": "60"}, "DB_CONN_MAX_AGE"),
        ({"DB_POOL_MAX": "4", "LIVE_DB_THREADS": "4"}, "DB_POOL_MAX (4) must be larger"),
        ({"DB_POOL_MAX": "5", "DB_POOL_MIN": "6"}, "DB_POOL_MIN"),
        ({"DB_POOL_TIMEOUT_SECONDS": "0"}, "DB_POOL_TIMEOUT_SECONDS"),
    ],
)
def test_start_up_refuses_unbounded_or_starved_pools(env: dict[str, str], says: str) -> None:
    result = settings_process("import django; django.setup()", **env)
    assert result.returncode == 1
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def _postgres(**extra: Any) -> dict[str, Any]:
    return {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "echo",
            "HOST": "127.0.0.1",
            "CONN_MAX_AGE": 0,
            "OPTIONS": {},
            **extra,
        }
    }


@pytest.mark.parametrize(
    ("database", "fails"),
    [
        (_postgres(CONN_MAX_AGE=60), True),
        (_postgres(CONN_MAX_AGE=None), True),
        (_postgres(), False),
        (_postgres(CONN_MAX_AGE=60, OPTIONS={"pool": {"max_size": 4}}), False),
    ],
)
def test_the_check_fails_on_persistent_connections_without_a_pool(
    database: dict[str, Any], fails: bool
) -> None:
    ids = {message.id for message in persistent_connections_without_pool(database)}
    assert ("echo.E001" in ids) is fails


def test_check_deploy_runs_the_connection_check(tmp_path: Path) -> None:
    """`check --deploy` in a production-like process fails on the settings the check refuses
    (here: a settings module that turns persistent connections back on)."""
    (tmp_path / "echo_persistent_settings_probe.py").write_text(
        "from echo_site.settings import *  # noqa: F403\n"
        "DATABASES['default']['CONN_MAX_AGE'] = 60\n"
        "DATABASES['default']['OPTIONS'].pop('pool', None)\n"
    )
    result = settings_process(
        "from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy'])",
        DJANGO_SETTINGS_MODULE="echo_persistent_settings_probe",
        PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}",
    )
    assert result.returncode != 0
    assert "echo.E001" in result.stderr
