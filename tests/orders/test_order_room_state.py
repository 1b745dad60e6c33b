"""The live room's opening state (orders/rooms.py order_room_state) equals what the REST
serializer and the unread selector say, on both databases; on PostgreSQL it is one prepared
statement, so this keeps the hand-built snapshot honest."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from disputes import services as dispute_services
from echo_site.errors import ErrorCode, ServiceError
from orders import services
from orders.rooms import order_room_state
from orders.selectors import order_get_for_user, unread_count
from orders.serializers import OrderSerializer
from tests.conftest import pay

pytestmark = pytest.mark.django_db


def expected_snapshot(order_id: int, user) -> dict:
    order = order_get_for_user(order_id=order_id, user=user)
    return dict(OrderSerializer(order, context={"request": SimpleNamespace(user=user)}).data)


@pytest.mark.parametrize("case", ["unpaid", "paid", "disputed", "completed"])
def test_room_state_equals_the_rest_payload_and_unread_count(
    case, make_order, buyer, creator, admin_user
):
    status = {"unpaid": "PENDING", "paid": "PENDING", "disputed": "IN_PROGRESS"}.get(
        case, "COMPLETED"
    )
    order = make_order(status)
    if case == "paid":
        pay(order)
    if case == "disputed":
        reason = "The delivery never arrived."
        dispute_services.dispute_open(order=order, opened_by=buyer, reason=reason)
    if case != "completed":
        services.message_post(order=order, sender=creator, content="one")
        services.message_post(order=order, sender=creator, content="two")
        services.message_post(order=order, sender=buyer, content="three")
    for user in (buyer, creator, admin_user):
        state = order_room_state(order_id=order.pk, user=user)
        assert state.snapshot == expected_snapshot(order.pk, user)
        assert list(state.snapshot) == list(expected_snapshot(order.pk, user))
        party = user in (buyer, creator)
        assert state.unread == (unread_count(order=order, user_id=user.pk) if party else 0)
        assert state.order.pk == order.pk
        assert (state.order.buyer_id, state.order.creator_id) == (buyer.pk, creator.pk)
    # The buyer posted last (their mark moved past the creator's two); the creator has one.
    assert order_room_state(order_id=order.pk, user=buyer).unread == 0
    assert order_room_state(order_id=order.pk, user=creator).unread == (case != "completed")


def test_room_state_refuses_unknown_orders_and_outsiders(order, outsider):
    with pytest.raises(ServiceError) as missing:
        order_room_state(order_id=order.pk + 1000, user=outsider)
    assert missing.value.code == ErrorCode.NOT_FOUND
    with pytest.raises(ServiceError) as foreign:
        order_room_state(order_id=order.pk, user=outsider)
    assert foreign.value.code == ErrorCode.NOT_A_PARTY
