from __future__ import annotations

from typing import Any

import pytest

from disputes import services as dispute_services
from tests.payments.conftest import (  # noqa: F401 - fixtures shared with the payments tests
    connected_creator,
    deliver,
    stripe_double,
    stripe_paid,
)

REASON = "The delivery is not what we agreed on."


@pytest.fixture
def open_dispute(make_order: Any, buyer: Any) -> Any:
    """`open_dispute(status)`: a paid order at `status` (IN_PROGRESS) disputed by the buyer."""

    def make(status: str = "IN_PROGRESS") -> Any:
        order = make_order(status)
        return dispute_services.dispute_open(order=order, opened_by=buyer, reason=REASON)

    return make
