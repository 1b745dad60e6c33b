"""Schema-driven fuzzing: schemathesis against ECHO's own OpenAPI schema (/api/schema).

Every operation is called with generated data, positive (valid per the schema) and negative
(invalid per the schema), as a buyer, a creator, an unrelated user and an admin, over Django's
WSGI handler in-process. Every default check of schemathesis runs on each response: no server
error, status code documented, content type documented, body matching the documented schema,
negative data rejected, positive data accepted (or refused for auth/permission/state reasons that
the schema documents), auth not ignored.

Path ids are drawn from seeded rows (an order in each status, a paid order, a dispute, a review),
so the operations reach real objects instead of only 404s.

Bounded for CI: FUZZ_EXAMPLES examples per operation, role and mode (default 10). A longer run:
    FUZZ_EXAMPLES=200 .venv/bin/pytest tests/security/test_api_fuzzing.py -p no:randomly
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from tests.conftest import pay
from tests.factories import ItemFactory, UserFactory

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
ROLES = ("buyer", "creator", "outsider", "admin")

# Refusals that valid-per-schema data may still meet: rules a JSON schema cannot state (a
# password too like the username, ordering your own listing, content blank once trimmed),
# authentication and permission (who you are), unknown ids (what exists), the state machine and
# uniqueness (what state things are in), the auth throttle, and an uploaded file's content (its
# sniffed type, 415; its size, 413). Each is documented per operation (echo_site/schema.py), so
# status_code_conformance still holds them to the schema.
POSITIVE_OK = ["2xx", "400", "401", "403", "404", "409", "413", "415", "429"]


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {"expected-statuses": POSITIVE_OK},
            }
        }
    )


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    """Users in every role and rows in every state, for path ids to point at."""
    from disputes import services as dispute_services
    from orders import services

    buyer = UserFactory(username="fz_buyer")
    creator = UserFactory(username="fz_creator")
    outsider = UserFactory(username="fz_outsider")
    admin = UserFactory(username="fz_admin", is_staff=True, is_superuser=True)

    def order_in(status: str) -> Any:
        item = ItemFactory(creator=creator, base_price=Decimal("120.00"))
        order = services.order_place(buyer=buyer, item=item)
        if status == "PENDING":
            return order
        if status == "CANCELLED":
            services.order_move(order=order, actor=buyer, to_status="CANCELLED")
            return order
        pay(order)
        path = ["IN_PROGRESS", "DELIVERED", "COMPLETED"]
        for to_status in path[: path.index(status) + 1]:
            actor = buyer if to_status == "COMPLETED" else creator
            services.order_move(order=order, actor=actor, to_status=to_status)
        return order

    orders = {s: order_in(s) for s in ("PENDING", "IN_PROGRESS", "DELIVERED", "COMPLETED")}
    orders["CANCELLED"] = order_in("CANCELLED")
    paid_pending = order_in("PENDING")
    pay(paid_pending)
    for order in orders.values():
        if order.status in ("PENDING", "IN_PROGRESS", "DELIVERED"):
            services.message_post(order=order, sender=buyer, content="hello", client_id="seed")
    services.review_leave(order=orders["COMPLETED"], author=buyer, score=5, comment="good")
    dispute = dispute_services.dispute_open(
        order=orders["DELIVERED"], opened_by=buyer, reason="The delivery is not what we agreed."
    )
    dispute_services.dispute_message_post(
        dispute=dispute, sender=creator, content="Let us talk.", client_id=None
    )
    order_ids = [o.pk for o in (*orders.values(), paid_pending)]
    return {
        "users": {"buyer": buyer, "creator": creator, "outsider": outsider, "admin": admin},
        "path_ids": {
            "order_id": order_ids,
            "item_id": [o.item_id for o in orders.values()],
            "dispute_id": [dispute.pk],
            "user_id": [buyer.pk, creator.pk, outsider.pk],
        },
    }


@pytest.fixture
def api_schema(world: dict[str, Any]) -> Any:
    response = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    loaded = schemathesis.openapi.from_dict(response.json(), config=_config())
    loaded.app = WSGIHandler()
    # Like Django's test client: the WSGI handler must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield loaded
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _operations(api_schema: Any) -> list[Any]:
    ops = [result.ok() for result in api_schema.get_all_operations()]
    assert len(ops) >= 30, "the schema lost operations"
    return ops


def _strategy(operation: Any, mode: GenerationMode, path_ids: dict[str, list[int]]) -> Any:
    names = [p.name for p in operation.path_parameters]
    free = operation.as_strategy(generation_mode=mode)
    if not names or any(name not in path_ids for name in names):
        return free
    seeded = [
        operation.as_strategy(generation_mode=mode, path_parameters={name: value for name in names})
        for value in sorted({v for name in names for v in path_ids[name]})
    ]
    return st.one_of(free, *seeded)


def _runner(strategy: Any, token: str) -> Any:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=os.environ.get("FUZZ_RANDOM", "") == "",
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        # Each example starts from the seeded world: what one call changed (an item archived,
        # an order cancelled) is rolled back, so Hypothesis can replay and shrink a failure.
        with transaction.atomic():
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
            transaction.set_rollback(True)

    return run


def _describe(exc: BaseException) -> str:
    """The failure, and for Hypothesis' "flaky" wrapper the failure inside it."""
    text = f"{type(exc).__name__}: {str(exc)[:1500]}"
    for inner in getattr(exc, "exceptions", ())[:2]:
        text += "\n  caused by: " + _describe(inner)
    return text


def _fuzz(api_schema: Any, world: dict[str, Any], mode: GenerationMode) -> None:
    failures: list[str] = []
    only = os.environ.get("FUZZ_ONLY", "")  # e.g. FUZZ_ONLY="GET /api/orders" for one operation
    for operation in _operations(api_schema):
        if only and operation.label != only:
            continue
        strategy = _strategy(operation, mode, world["path_ids"])
        for role in ROLES:
            token = str(AccessToken.for_user(world["users"][role]))
            try:
                _runner(strategy, token)()
            except Unsatisfiable:
                # Nothing in this operation's inputs can be made invalid (no body, no
                # parameters): there is no negative data to send.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, FailureGroup) as exc:  # collected and reported together
                failures.append(f"{operation.label} as {role} ({mode.value}):\n{_describe(exc)}")
    assert not failures, "\n\n".join(failures[:15]) + f"\n\n{len(failures)} failing runs"


def test_valid_requests_get_documented_answers_for_every_role(api_schema, world):
    _fuzz(api_schema, world, GenerationMode.POSITIVE)


def test_invalid_requests_are_rejected_with_documented_errors(api_schema, world):
    _fuzz(api_schema, world, GenerationMode.NEGATIVE)
