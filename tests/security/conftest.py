from __future__ import annotations

# The real-daphne fixture and the Stripe HTTP double, as in tests/live/ and tests/payments/.
from tests.live.conftest import start_daphne  # noqa: F401
from tests.payments.conftest import stripe_double  # noqa: F401
