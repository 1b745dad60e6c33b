"""Mail goes through Django's email framework: SMTP in production, configured from the
environment (README's table); the console backend in development (`./dev.sh run` sets DEBUG=1)
so a developer sees the mails; EMAIL_BACKEND overrides either (e.g. the file backend)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({k: getattr(s, k) for k in (
    "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_USE_TLS",
    "EMAIL_TIMEOUT", "DEFAULT_FROM_EMAIL",
)}))
"""


def settings_with(**environ: str) -> dict:
    keep = {"PATH", "HOME", "LANG", "VIRTUAL_ENV", "PYTHONPATH"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env |= {"DJANGO_SETTINGS_MODULE": "echo_site.settings", **environ}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_sends_by_smtp_configured_from_the_environment():
    found = settings_with(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="587",
        EMAIL_HOST_USER="echo",
        EMAIL_USE_TLS="1",
        EMAIL_TIMEOUT="5",
        DEFAULT_FROM_EMAIL="ECHO <no-reply@echo.example.com>",
    )
    assert found == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "echo",
        "EMAIL_USE_TLS": True,
        "EMAIL_TIMEOUT": 5.0,
        "DEFAULT_FROM_EMAIL": "ECHO <no-reply@echo.example.com>",
    }


def test_development_prints_mails_on_the_console_unless_told_otherwise():
    assert settings_with(DEBUG="1")["EMAIL_BACKEND"] == (
        "django.core.mail.backends.console.EmailBackend"
    )
    filed = settings_with(
        DEBUG="1", EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend"
    )
    assert filed["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
