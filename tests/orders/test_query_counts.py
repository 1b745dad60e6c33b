"""Every orders list endpoint and server-rendered page runs as many SQL queries for 50 rows as for
one (tests/query_counts.py); the pinned numbers make any new query visible."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from disputes import services as dispute_services
from orders import deliveries, services
from orders.attachments.services import attachment_upload
from tests.conftest import pay
from tests.factories import ItemFactory
from tests.query_counts import query_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders_of_all_kinds(make_order: Any, buyer: Any, creator: Any) -> Any:
    """`grow(n)` adds n orders between buyer and creator: unpaid, paid, in progress with
    messages, disputed, completed and reviewed, in turn, so each row's state differs."""
    made = [0]

    def grow(n: int) -> None:
        for _ in range(n):
            kind = made[0] % 5
            made[0] += 1
            if kind == 0:
                make_order("PENDING")
            elif kind == 1:
                pay(make_order("PENDING"))
            elif kind == 2:
                order = make_order("IN_PROGRESS")
                services.message_post(order=order, sender=creator, content="Started.")
            elif kind == 3:
                order = make_order("IN_PROGRESS")
                dispute_services.dispute_open(
                    order=order, opened_by=buyer, reason="Not what was agreed."
                )
            else:
                order = make_order("COMPLETED")
                services.review_leave(order=order, author=buyer, score=5)

    return grow


# --- REST -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["buyer", "creator"])
def test_orders_list(api: Any, orders_of_all_kinds: Any, request: Any, who: str) -> None:
    user = request.getfixturevalue(who)

    def read() -> int:
        response = api(user).get("/api/orders", {"page_size": 100})
        assert response.status_code == 200, response.content
        return len(response.json()["results"])

    assert query_counts(grow=orders_of_all_kinds, read=read) == [2, 2]


def test_orders_list_filtered_by_role(api: Any, orders_of_all_kinds: Any, creator: Any) -> None:
    def read() -> int:
        response = api(creator).get("/api/orders", {"page_size": 100, "role": "creator"})
        assert response.status_code == 200, response.content
        return len(response.json()["results"])

    assert query_counts(grow=orders_of_all_kinds, read=read) == [2, 2]


def test_items_list(api: Any, db: Any) -> None:
    def grow(n: int) -> None:
        for _ in range(n):
            ItemFactory()  # each by a creator of its own

    def read() -> int:
        response = api(None).get("/api/items", {"page_size": 100})
        assert response.status_code == 200, response.content
        return len(response.json()["results"])

    assert query_counts(grow=grow, read=read) == [2, 2]


def test_order_messages_list(api: Any, order: Any, buyer: Any, creator: Any) -> None:
    def grow(n: int) -> None:
        for index in range(n):
            sender = buyer if index % 2 else creator
            services.message_post(order=order, sender=sender, content=f"Message {index}.")

    def read() -> int:
        response = api(buyer).get(f"/api/orders/{order.pk}/messages", {"limit": 100})
        assert response.status_code == 200, response.content
        return len(response.json()["results"])

    # The page, its messages, and their files (one prefetch query).
    assert query_counts(grow=grow, read=read) == [3, 3]


def test_order_events_list(api: Any, order: Any, buyer: Any, creator: Any) -> None:
    placed = [True]  # the placement is the first event

    def grow(n: int) -> None:
        if placed[0]:
            n, placed[0] = n - 1, False
        for _ in range(n):  # accepted once paid, then delivered and sent back in turn
            order.refresh_from_db()
            if order.status == "PENDING":
                pay(order)
                services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
            elif order.status == "IN_PROGRESS":
                services.order_move(order=order, actor=creator, to_status="DELIVERED")
            else:
                services.order_move(order=order, actor=buyer, to_status="IN_PROGRESS")

    def read() -> int:
        response = api(buyer).get(f"/api/orders/{order.pk}/events")
        assert response.status_code == 200, response.content
        return len(response.json()["results"])

    assert query_counts(grow=grow, read=read) == [2, 2]


def test_reviews_list(api: Any, make_order: Any, buyer: Any, creator: Any) -> None:
    def grow(n: int) -> None:
        for index in range(n):
            order = make_order("COMPLETED")
            services.review_leave(order=order, author=buyer, score=1 + index % 5)

    def read() -> int:
        response = api(None).get(f"/api/reviews/user/{creator.pk}", {"page_size": 100})
        assert response.status_code == 200, response.content
        return len(response.json()["results"])

    assert query_counts(grow=grow, read=read) == [3, 3]


# --- Server-rendered pages --------------------------------------------------------------------


def rows_in(html: str, marker: str) -> int:
    return len(re.findall(marker, html))


@pytest.mark.parametrize("who", ["buyer", "creator"])
def test_my_orders_page(client: Any, orders_of_all_kinds: Any, request: Any, who: str) -> None:
    client.force_login(request.getfixturevalue(who))

    def read() -> int:
        response = client.get("/orders/")
        assert response.status_code == 200
        return rows_in(response.content.decode(), r"<tr data-order-id=")

    assert query_counts(grow=orders_of_all_kinds, read=read) == [4, 4]


def test_marketplace_page(client: Any, db: Any) -> None:
    def grow(n: int) -> None:
        for _ in range(n):
            ItemFactory()

    def read() -> int:
        response = client.get("/")
        assert response.status_code == 200
        return rows_in(response.content.decode(), r"<li class=\"card item\" data-item-id=")

    counts = query_counts(grow=grow, read=read, shown=lambda rows: min(rows, 20))
    assert counts == [3, 3]


def test_order_page_with_its_messages(client: Any, order: Any, buyer: Any, creator: Any) -> None:
    client.force_login(buyer)

    def grow(n: int) -> None:
        for index in range(n):
            sender = buyer if index % 2 else creator
            services.message_post(order=order, sender=sender, content=f"Message {index}.")

    def read() -> int:
        response = client.get(f"/orders/{order.pk}/")
        assert response.status_code == 200
        return len(response.context["boot"]["messages"])

    assert query_counts(grow=grow, read=read) == [15, 15]  # 13, the messages' files, deliveries


def test_order_deliveries_list(api: Any, make_order: Any, buyer: Any, creator: Any) -> None:
    order = make_order("IN_PROGRESS")

    def grow(n: int) -> None:
        for index in range(n):
            files = [
                attachment_upload(
                    order=order,
                    uploader=creator,
                    stream=io.BytesIO(f"version {index}".encode()),
                    name=f"v{index}.txt",
                ).pk
            ]
            delivery = deliveries.delivery_submit(
                order=order, creator=creator, message=f"v{index}", attachment_ids=files
            )
            deliveries.delivery_request_revision(
                order=order, buyer=buyer, delivery_id=delivery.pk, reason="again"
            )

    def read() -> int:
        response = api(buyer).get(f"/api/orders/{order.pk}/deliveries")
        assert response.status_code == 200, response.content
        return len(response.json())

    # The order (with its parties), the deliveries, their files.
    assert query_counts(grow=grow, read=read) == [3, 3]
