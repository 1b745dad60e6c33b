"""Every disputes list (a party's, an admin's, the mediation desk's queue) and a dispute's thread
run as many SQL queries for 50 rows as for one (tests/query_counts.py); the pinned numbers make
any new query visible."""

from __future__ import annotations

from typing import Any

import pytest

from disputes import services
from disputes.live import dispute_data
from disputes.selectors import dispute_list_open
from tests.query_counts import query_counts

from .conftest import REASON

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputes(make_order: Any, buyer: Any, creator: Any, admin_user: Any) -> Any:
    """`grow(n)` opens n disputes on orders of their own, alternately by the buyer and the
    creator on in-progress and delivered orders; every third is under review."""
    made = [0]

    def grow(n: int) -> None:
        for _ in range(n):
            index = made[0]
            made[0] += 1
            order = make_order("DELIVERED" if index % 2 else "IN_PROGRESS")
            opener = creator if index % 2 else buyer
            dispute = services.dispute_open(order=order, opened_by=opener, reason=REASON)
            if index % 3 == 2:
                services.dispute_admin_joined(dispute=dispute, admin=admin_user)

    return grow


def listed(api: Any, user: Any, path: str) -> int:
    response = api(user).get(path, {"page_size": 100})
    assert response.status_code == 200, response.content
    return len(response.json()["results"])


@pytest.mark.parametrize("who", ["buyer", "creator", "admin_user"])
def test_disputes_list(api: Any, disputes: Any, request: Any, who: str) -> None:
    user = request.getfixturevalue(who)
    counts = query_counts(grow=disputes, read=lambda: listed(api, user, "/api/disputes"))
    assert counts == [2, 2]


def test_my_disputes_list(api: Any, disputes: Any, buyer: Any) -> None:
    read = lambda: listed(api, buyer, "/api/disputes/user/my-disputes")  # noqa: E731
    assert query_counts(grow=disputes, read=read) == [2, 2]


def test_the_mediation_desk_queue(api: Any, disputes: Any, admin_user: Any) -> None:
    read = lambda: listed(api, admin_user, "/api/disputes/open")  # noqa: E731
    assert query_counts(grow=disputes, read=read) == [2, 2]


def test_the_mediation_desk_live_hello(disputes: Any) -> None:
    # What AdminDisputesConsumer.open sends as its hello: the open queue as dispute payloads.
    read = lambda: len([dispute_data(d) for d in dispute_list_open()[:500]])  # noqa: E731
    assert query_counts(grow=disputes, read=read) == [1, 1]


def test_disputes_of_an_order(
    api: Any, make_order: Any, buyer: Any, creator: Any, admin_user: Any
) -> None:
    order = make_order("IN_PROGRESS")

    def grow(n: int) -> None:  # opened and resumed in turn: one order, many disputes
        for _ in range(n):
            dispute = services.dispute_open(order=order, opened_by=buyer, reason=REASON)
            services.dispute_close(
                dispute=dispute, actor=admin_user, resolution="Carry on.", outcome="RESUME"
            )

    def read() -> int:
        response = api(creator).get(f"/api/disputes/order/{order.pk}")
        assert response.status_code == 200, response.content
        return len(response.json())

    assert query_counts(grow=grow, read=read) == [2, 2]


def test_dispute_thread(api: Any, open_dispute: Any, buyer: Any, admin_user: Any) -> None:
    dispute = open_dispute()
    creator = dispute.order.creator

    def grow(n: int) -> None:
        for index in range(n):
            sender = (buyer, creator, admin_user)[index % 3]
            services.dispute_message_post(
                dispute=dispute, sender=sender, content=f"Message {index}."
            )

    def read() -> int:
        response = api(buyer).get(f"/api/disputes/{dispute.pk}")
        assert response.status_code == 200, response.content
        return len(response.json()["messages"])

    assert query_counts(grow=grow, read=read) == [7, 7]  # and the messages' files (one prefetch)
