"""The order rules' tasks: thin (an id in, a service call), idempotent, retried on transient
database errors. `orders.sweep` (every SWEEP_INTERVAL_SECONDS, celery beat) re-derives the due
work from the database and enqueues one `orders.rule` task per order and rule;
`orders.purge_orphan_uploads` (hourly) deletes uploads nothing claimed within
ATTACHMENT_ORPHAN_HOURS."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from echo_site.background import enqueue

from . import timed
from .attachments.services import attachment_purge_orphans


@shared_task(
    name="orders.rule",
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def order_rule(*, rule: str, order_id: int) -> bool:
    return timed.order_rule_apply(rule=rule, order_id=order_id)


@shared_task(name="orders.sweep", autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3)
def orders_sweep() -> dict[str, int]:
    due = timed.due_orders()
    for rule, order_ids in due.items():
        for order_id in order_ids:
            enqueue("orders.rule", rule=rule, order_id=order_id)
    return {rule: len(ids) for rule, ids in due.items()}


@shared_task(
    name="orders.purge_orphan_uploads",
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=3,
)
def orders_purge_orphan_uploads() -> int:
    return attachment_purge_orphans()
