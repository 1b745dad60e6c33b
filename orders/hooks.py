"""Where the apps above orders plug into it: orders imports none of them.

payments and disputes register here from their AppConfig.ready() (INSTALLED_APPS order, so the
payment guard runs before the dispute guard, as it always has). orders' services and selectors only
read these registries; with nothing registered an order reads as unpaid and undisputed, and no
guard refuses a move the state machine allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .models import Order


class MoveGuard(Protocol):
    def __call__(self, *, order: Order, to_status: str, actor: Any) -> None: ...


class MoveReaction(Protocol):
    def __call__(self, *, order: Order, from_status: str, to_status: str) -> None: ...


class EventReaction(Protocol):
    def __call__(
        self, *, order: Order, kind: str, actor_id: int | None, data: dict[str, Any]
    ) -> None: ...


# Run by order_move inside its transaction, the order row locked, before the move is written:
# a guard refuses by raising ServiceError (409 order_not_paid, dispute_open, ...).
move_guards: list[MoveGuard] = []
# Run after a move is written (order_move and order_settle), inside the same transaction, so the
# money follows the move or both roll back; gateway calls are the reaction's own on_commit work.
after_move: list[MoveReaction] = []


# Something happened on an order that a party may want to hear of when not looking (notify).
# Called inside the action's transaction, after its rows are written; a reaction never raises
# (it records in its own savepoint and logs a failure), so it cannot roll the action back.
# Kinds: EVENT_* below. `data` holds plain JSON values (ids, strings, seq).
EVENT_PLACED = "order_placed"
EVENT_MOVED = "order_moved"  # data: from_status, to_status, seq
EVENT_MESSAGE = "message_posted"  # data: message_id, seq, sender_id, sender_name, content
EVENT_PAID = "payment_received"
EVENT_DISPUTE_OPENED = "dispute_opened"  # data: dispute_id
EVENT_DISPUTE_REVIEW = "dispute_admin_joined"  # data: dispute_id
EVENT_DISPUTE_CLOSED = "dispute_closed"  # data: dispute_id, outcome
# A message in a dispute's thread. data: dispute_id, message_id, seq (the dispute thread's),
# sender_id, sender_name, content, admin_ids (the admins who joined the dispute: its thread's
# participants besides the order's parties)
EVENT_DISPUTE_MESSAGE = "dispute_message_posted"
# For the time-based rules (the worker): data: due_at / auto_complete_at (ISO), which also tells
# one reminder from the next.
EVENT_LATE = "order_late"  # data: due_at
EVENT_AUTO_COMPLETE_SOON = "auto_complete_soon"  # data: auto_complete_at
after_event: list[EventReaction] = []


@dataclass(frozen=True)
class MessageStatementPart:
    """Rows a higher app writes in the very statement that stores a message, on PostgreSQL's
    one-statement path (orders.services.message_post): the live rooms' hot path stays one round
    trip and one commit however many apps react to a message (docs/benchmarks.md, issue 23).

    `cte`: the body of a data-modifying CTE named `name`. It may read the CTEs `bumped` (id,
    last_seq, buyer_id, creator_id: the order, when it took the message) and `stored` (id, seq:
    the message) and the statement's parameters `sender` and `at`, plus its own, which `params`
    returns (named `<name>_...`). Rows go in or the message fails with them: keep the part to
    inserts that cannot fail but on conflict (use ON CONFLICT DO NOTHING).
    With a part registered, EVENT_MESSAGE from that path carries `data["in_statement"] = True`:
    a reaction that registered the part records nothing more for it.
    """

    name: str
    cte: str
    params: Callable[[Order, Any, str], dict[str, Any]]  # (order, sender, content)


message_statement_parts: list[MessageStatementPart] = []


def register_message_statement_part(part: MessageStatementPart) -> None:
    if all(p.name != part.name for p in message_statement_parts):
        message_statement_parts.append(part)


def register_after_event(reaction: EventReaction) -> None:
    if reaction not in after_event:
        after_event.append(reaction)


def event_happened(*, order: Order, kind: str, actor_id: int | None, data: dict[str, Any]) -> None:
    """Tell every registered reaction (orders, payments and disputes call this)."""
    for reaction in after_event:
        reaction(order=order, kind=kind, actor_id=actor_id, data=data)


@dataclass(frozen=True)
class OrderFact:
    """A fact about an order that a higher app owns, readable with the order in one query.

    `annotation()`: a query expression over the outer order (OuterRef("pk")), annotated on order
    lists and rooms as `state_<name>`; `sql()`: the same as a scalar SQL expression over the order
    row aliased `o` (the live room's prepared hello); `read(order_id)`: the value for one order.
    """

    annotation: Callable[[], Any]
    sql: Callable[[], str]
    read: Callable[[int], Any]


IS_PAID = "is_paid"  # bool: the buyer's money is with the platform (payments)
OPEN_DISPUTE_ID = "open_dispute_id"  # int | None: the order's open dispute (disputes)
_FACT_DEFAULTS: dict[str, tuple[Any, str]] = {
    IS_PAID: (False, "false"),
    OPEN_DISPUTE_ID: (None, "NULL"),
}

facts: dict[str, OrderFact] = {}


def _simulated_default() -> bool:
    return False


# Whether payments run on the simulated gateway (shown with every order as payments_simulated).
_payments_simulated: list[Callable[[], bool]] = [_simulated_default]


def register_move_guard(guard: MoveGuard) -> None:
    if guard not in move_guards:  # ready() may run twice (e.g. a test re-populating apps)
        move_guards.append(guard)


def register_after_move(reaction: MoveReaction) -> None:
    if reaction not in after_move:
        after_move.append(reaction)


def register_fact(name: str, fact: OrderFact) -> None:
    if name not in _FACT_DEFAULTS:
        raise ValueError(f"Unknown order fact {name!r}")
    facts[name] = fact


def register_payments_simulated(check: Callable[[], bool]) -> None:
    _payments_simulated[0] = check


def payments_simulated() -> bool:
    return _payments_simulated[0]()


def fact_annotations() -> dict[str, Any]:
    """{"state_<name>": expression} for every registered fact."""
    return {f"state_{name}": fact.annotation() for name, fact in facts.items()}


def fact_read(name: str, order_id: int) -> Any:
    fact = facts.get(name)
    return _FACT_DEFAULTS[name][0] if fact is None else fact.read(order_id)


def fact_sql(name: str) -> str:
    fact = facts.get(name)
    return _FACT_DEFAULTS[name][1] if fact is None else fact.sql()
