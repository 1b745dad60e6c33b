"""Production configuration: refuse to start without a secret; `check --deploy` is clean."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_off_without_secret_key_refuses_to_start_with_one_line():
    result = manage("check", env={"DEBUG": "0"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("secret", ["", "   "])
def test_debug_off_with_blank_secret_key_refuses_to_start(secret):
    result = manage("check", env={"DEBUG": "0", "SECRET_KEY": secret})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_in_a_production_like_environment():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "echo.example.com",
            "CSRF_TRUSTED_ORIGINS": "https://echo.example.com",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("fee", ["ten", "100", "-1"])
def test_a_platform_fee_that_is_not_a_percentage_refuses_to_start_with_one_line(fee):
    result = manage("check", env={"DEBUG": "1", "PLATFORM_FEE_PERCENT": fee})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "ECHO refuses to start: PLATFORM_FEE_PERCENT must be from 0 to below 100."
    ]


def test_with_no_environment_the_process_refuses_to_start_without_a_secret_key():
    # Safe by default (issue 15 item 5): no DEBUG means production mode.
    result = manage("check", env={})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "ECHO refuses to start: DEBUG is off and SECRET_KEY is not set."
    ]


def test_with_no_debug_variable_debug_is_off():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        env={"SECRET_KEY": secrets.token_urlsafe(64)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_the_public_development_key_never_signs_with_debug_off():
    from django.conf import settings

    for debug in ({"DEBUG": "0"}, {}):
        result = manage("check", env={**debug, "SECRET_KEY": settings.DEVELOPMENT_SECRET_KEY})
        assert result.returncode != 0
        assert result.stderr.strip().splitlines() == [
            "ECHO refuses to start: DEBUG is off and SECRET_KEY is the public development key."
        ]
