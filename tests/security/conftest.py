from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orders.payments import gateway
from tests.live.conftest import start_daphne  # noqa: F401 - the real-daphne fixture
from tests.payments.conftest import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, StripeDouble


@pytest.fixture
def stripe_double(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeDouble]:
    """As in tests/payments/: Stripe mode over the recording HTTP double."""
    double = StripeDouble()
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    monkeypatch.setattr(gateway, "http_client_override", double)
    gateway._stripe_gateway.cache_clear()
    yield double
    gateway._stripe_gateway.cache_clear()
