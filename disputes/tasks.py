"""The disputes' tasks (thin, idempotent): the admin SLA flag and its sweep."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from echo_site.background import enqueue

from . import timed


@shared_task(
    name="disputes.flag_sla", autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=8
)
def dispute_flag_sla(*, dispute_id: int) -> bool:
    return timed.dispute_flag_sla(dispute_id=dispute_id)


@shared_task(
    name="disputes.sweep", autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3
)
def disputes_sweep() -> int:
    due = timed.disputes_due_sla()
    for dispute_id in due:
        enqueue("disputes.flag_sla", dispute_id=dispute_id)
    return len(due)
