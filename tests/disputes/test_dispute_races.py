"""Races on PostgreSQL: one open dispute per order, one close, one refund."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from disputes import services
from disputes.models import Dispute
from echo_site.errors import ServiceError
from payments.models import Refund

from .conftest import REASON

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def race(n: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_openings_leave_one_open_dispute(make_order, buyer, creator):
    order = make_order("IN_PROGRESS")
    results = race(
        8,
        lambda i: services.dispute_open(
            order=order, opened_by=buyer if i % 2 else creator, reason=REASON
        ),
    )
    winners = [r for r in results if isinstance(r, Dispute)]
    losers = [r for r in results if isinstance(r, ServiceError)]
    assert len(winners) == 1
    assert len(losers) == 7
    assert {e.code for e in losers} == {"dispute_already_open"}
    assert Dispute.objects.filter(order=order).count() == 1


def test_two_admins_closing_at_once_refund_once(open_dispute, admin_user, django_user_model):
    other_admin = django_user_model.objects.create_user(
        username="admin2", password="x-Strong-pass-9", is_staff=True
    )
    dispute = open_dispute("DELIVERED")
    admins = [admin_user, other_admin] * 3
    results = race(
        6,
        lambda i: services.dispute_close(
            dispute=dispute, actor=admins[i], resolution="Refund.", outcome="REFUND_BUYER"
        ),
    )
    closed = [r for r in results if isinstance(r, Dispute)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(closed) == 1
    assert len(refused) == 5
    assert {e.code for e in refused} == {"dispute_closed"}
    assert Refund.objects.count() == 1
    assert Refund.objects.get().amount == dispute.order.final_price
