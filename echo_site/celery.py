"""The Celery app: background work and the schedule (`celery -A echo_site worker`, `... beat`).

Its configuration is Django's settings under the CELERY_ prefix (echo_site/settings.py, "Background
work"): the broker is Redis in production and a folder of files in development. Each app's
`tasks.py` declares its tasks (thin: load by id, call a service); AppConfig.ready() imports them,
so a process that enqueues has them registered as well as the worker. Nothing enqueues directly:
echo_site/background.py sends after commit.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echo_site.settings")

app = Celery("echo_site")
app.config_from_object("django.conf:settings", namespace="CELERY")


def ensure_folders() -> None:
    """The embedded broker's folders and the beat schedule's folder must exist."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    schedule = app.conf.beat_schedule_filename
    if schedule:
        Path(schedule).parent.mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _folders(sender: Celery, **kwargs: object) -> None:
    ensure_folders()
