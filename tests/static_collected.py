"""The static manifest the pages need (echo_site/staticstorage.py), collected when it is stale.

Hashed names are used in every mode, so `{% static %}` reads STATIC_ROOT/staticfiles.json: a fresh
clone, or a changed file under any app's static/, runs `collectstatic` once before the tests.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command


def _newest_source_mtime() -> float:
    newest = 0.0
    for finder in finders.get_finders():
        for path, storage in finder.list(None):
            newest = max(newest, os.stat(storage.path(path)).st_mtime)
    return newest


def collect_static_if_stale() -> None:
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
        return
    call_command("collectstatic", "--no-input", verbosity=0)
    manifest.touch()  # newer than every source file collected
