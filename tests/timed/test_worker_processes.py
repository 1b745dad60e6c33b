"""The rules on real worker processes and a real broker (Redis), on PostgreSQL: end to end, two
workers with two concurrent sweeps (each rule fires once per order), and a worker SIGKILLed in the
middle of a task (the message comes back, acks_late, and the work is done once).

The rules' due dates are made due by dating the rows back: a worker is another process, whose
clock time-machine cannot move (tests/timed/test_order_rules.py moves it in process).
"""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.utils import timezone

from orders.models import Order, OrderEvent, OrderStatus
from payments.models import Payout, Refund
from tests.conftest import pay
from tests.live.servers import test_database_url as database_url

from .workers import Worker, clear_broker, producer, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(tmp_path):
    clear_broker()
    started: list[Worker] = []

    def start(name: str, **env: str) -> Worker:
        worker = Worker(name, tmp_path, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    clear_broker()


# A message a dead worker held comes back after 3 s (production: an hour), looked for every second.
FAST_RESTORE = {"CELERY_VISIBILITY_TIMEOUT_SECONDS": "3", "CELERY_RESTORE_INTERVAL_SECONDS": "1"}


def backdate_delivery(order: Order, days: int) -> None:
    Order.objects.filter(pk=order.pk).update(delivered_at=timezone.now() - timedelta(days=days))


def test_a_real_worker_and_broker_auto_complete_an_order_end_to_end(make_order, workers):
    order = make_order("DELIVERED")
    backdate_delivery(order, 4)
    workers("solo")
    producer().send_task("orders.sweep")  # what beat sends every SWEEP_INTERVAL_SECONDS

    wait_until(
        lambda: Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED,
        what="the auto-complete",
    )
    completion = OrderEvent.objects.get(order=order, to_status="COMPLETED")
    assert completion.actor_id is None  # the system
    # The payout was recorded with the move; its transfer is the worker's next task.
    assert Payout.objects.filter(payment__order=order).count() == 1


def test_two_workers_and_two_concurrent_sweeps_fire_each_rule_once_per_order(
    make_order, workers, settings
):
    to_complete = [make_order("DELIVERED") for _ in range(4)]
    for order in to_complete:
        backdate_delivery(order, 4)
    to_cancel = [make_order("PENDING") for _ in range(3)]
    for order in to_cancel:
        pay(order)
    Order.objects.filter(pk__in=[o.pk for o in to_cancel]).update(
        created_at=timezone.now() - timedelta(days=4)
    )
    late = [make_order("IN_PROGRESS") for _ in range(3)]
    Order.objects.filter(pk__in=[o.pk for o in late]).update(
        due_at=timezone.now() - timedelta(hours=1)
    )
    workers("one")
    workers("two")
    probe = producer()
    # Two beat-like sweeps at once, twice: every due order gets four tasks per rule.
    for _ in range(2):
        probe.send_task("orders.sweep")
        probe.send_task("orders.sweep")

    def settled() -> bool:
        statuses = set(
            Order.objects.filter(pk__in=[o.pk for o in to_complete + to_cancel]).values_list(
                "status", flat=True
            )
        )
        marked = Order.objects.filter(pk__in=[o.pk for o in late], late_at__isnull=False).count()
        return statuses <= {"COMPLETED", "CANCELLED"} and marked == len(late)

    wait_until(settled, timeout=90, what="every rule to fire")
    # Let the duplicate tasks run out, then count.
    wait_until(lambda: _queue_empty(), timeout=60, what="the queue to drain")
    for order in to_complete:
        assert OrderEvent.objects.filter(order=order, to_status="COMPLETED").count() == 1
        assert Payout.objects.filter(payment__order=order).count() == 1
    for order in to_cancel:
        assert OrderEvent.objects.filter(order=order, to_status="CANCELLED").count() == 1
        assert Refund.objects.filter(payment__order=order).count() == 1
        assert Refund.objects.get(payment__order=order).status == "SUCCEEDED"
    for order in late:
        assert OrderEvent.objects.filter(order=order, kind="late").count() == 1
    # The timeline stayed gap-free: every recorded seq is distinct and ends at last_seq.
    for order in to_complete + to_cancel + late:
        fresh = Order.objects.get(pk=order.pk)
        seqs = sorted(OrderEvent.objects.filter(order=order).values_list("seq", flat=True))
        assert seqs[-1] == fresh.last_seq and len(seqs) == len(set(seqs))


def _queue_empty() -> bool:
    import redis

    from .workers import broker_url

    client = redis.Redis.from_url(broker_url())
    try:
        return client.llen("celery") == 0 and client.hlen("unacked") == 0
    finally:
        client.close()


def test_a_worker_killed_mid_task_is_replaced_and_the_work_is_done_once(make_order, workers):
    order = make_order("DELIVERED")
    backdate_delivery(order, 4)
    # Hold the order's row lock from outside: the worker's auto-complete waits on it mid-task.
    holder = psycopg.connect(database_url(), autocommit=False)
    holder.execute("SELECT 1 FROM orders_order WHERE id = %s FOR UPDATE", [order.pk])
    first = workers("first", **FAST_RESTORE)
    producer().send_task("orders.rule", kwargs={"rule": "auto_complete", "order_id": order.pk})

    def worker_waits_on_the_lock() -> bool:
        with psycopg.connect(database_url(), autocommit=True) as probe:
            row = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s",
                ["%orders_order%"],
            ).fetchone()
        return bool(row and row[0])

    wait_until(worker_waits_on_the_lock, what="the worker to be inside the task")
    first.kill()  # SIGKILL: no clean-up, no ack
    holder.rollback()
    holder.close()
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED  # the killed attempt changed nothing

    workers("second", **FAST_RESTORE)
    wait_until(
        lambda: Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED,
        what="the redelivered task",
    )
    wait_until(_queue_empty, timeout=30, what="the message to be acknowledged")
    assert OrderEvent.objects.filter(order=order, to_status="COMPLETED").count() == 1
    assert Payout.objects.filter(payment__order=order).count() == 1
    # Sent once more (a second message for the same work) it does nothing.
    producer().send_task("orders.rule", kwargs={"rule": "auto_complete", "order_id": order.pk})
    wait_until(_queue_empty, timeout=30, what="the repeat to run")
    assert OrderEvent.objects.filter(order=order).count() == Order.objects.get(pk=order.pk).last_seq
