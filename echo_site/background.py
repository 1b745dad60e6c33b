"""The one place that hands work to the background workers (echo_site/celery.py).

Services call `enqueue_on_commit`: the task message goes to the broker only after the surrounding
transaction commits, so no worker ever looks for a row that rolled back, and nothing is sent for
work that did not happen. Tasks are named by string (`"payments.refund_execute"`): the core
imports no app, and each app's tasks.py registers its own names.

A message that never reaches the broker (broker down at that moment) is not lost work: each
periodic sweep re-derives what is due from the database (docs/reliability.md), so it is only
delayed until the next sweep. With CELERY_TASK_ALWAYS_EAGER (the test settings) the task runs in
this process at the commit instead, as the same code.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction

from .celery import app

logger = logging.getLogger(__name__)


# After a failed send, sends are skipped for BROADCAST_BACKOFF_SECONDS, as broadcasts are
# (echo_site/realtime.py): while the broker is down, requests must not each wait out its timeout.
_skip_until = 0.0


def enqueue(name: str, **kwargs: Any) -> None:
    """Send task `name` with keyword arguments now (outside a transaction: the sweeps)."""
    global _skip_until
    if app.conf.task_always_eager:
        app.tasks[name].apply(kwargs=kwargs, throw=True)
        return
    if time.monotonic() < _skip_until:
        logger.warning("enqueue skipped (broker recently failed): task=%s kwargs=%s", name, kwargs)
        return
    try:
        app.send_task(name, kwargs=kwargs)
    except Exception:
        # The broker is unreachable: the periodic sweep finds this work again in the database.
        _skip_until = time.monotonic() + settings.BROADCAST_BACKOFF_SECONDS
        logger.exception("enqueue failed: task=%s kwargs=%s (the next sweep retries)", name, kwargs)


def enqueue_on_commit(name: str, **kwargs: Any) -> None:
    """Send task `name` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(partial(enqueue, name, **kwargs), robust=True)
