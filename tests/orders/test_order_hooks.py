"""orders learns of payments and disputes only through orders/hooks.py (issue 17).

The apps above register at start-up; with nothing registered orders stands alone: an order reads
as unpaid and undisputed, and no guard refuses a move the state machine allows.
"""

from __future__ import annotations

from typing import Any

import pytest

from disputes import selectors as dispute_selectors
from disputes import services as dispute_services
from orders import hooks, selectors, services
from payments import selectors as payment_selectors
from payments import services as payment_services

pytestmark = pytest.mark.django_db


def test_payments_and_disputes_register_their_guards_reactions_and_facts() -> None:
    # The payment guard runs before the dispute guard, as order_move called them before hooks.
    assert hooks.move_guards == [
        payment_services.order_move_guard,
        dispute_services.order_move_guard,
    ]
    assert hooks.after_move == [payment_services.order_moved]
    assert hooks.facts == {
        hooks.IS_PAID: payment_selectors.ORDER_IS_PAID,
        hooks.OPEN_DISPUTE_ID: dispute_selectors.ORDER_OPEN_DISPUTE_ID,
    }


@pytest.fixture
def no_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """orders as if payments and disputes were not installed."""
    monkeypatch.setattr(hooks, "move_guards", [])
    monkeypatch.setattr(hooks, "after_move", [])
    monkeypatch.setattr(hooks, "facts", {})


def test_without_hooks_an_unpaid_order_can_be_accepted(
    no_hooks: None, order: Any, creator: Any
) -> None:
    assert selectors.order_is_paid(order=order) is False
    assert selectors.order_open_dispute_id(order=order) is None
    services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
    order.refresh_from_db()
    assert order.status == "IN_PROGRESS"


def test_with_the_hooks_the_same_move_is_refused_until_paid(order: Any, creator: Any) -> None:
    from echo_site.errors import ServiceError

    with pytest.raises(ServiceError) as caught:
        services.order_move(order=order, actor=creator, to_status="IN_PROGRESS")
    assert caught.value.code == "order_not_paid"
