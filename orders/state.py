"""The order state machine, written once.

Each allowed move names who may make it. Admins (staff) may make any move in this table.
"""

from __future__ import annotations

from enum import StrEnum

from .models import Order, OrderStatus


class Role(StrEnum):
    BUYER = "buyer"
    CREATOR = "creator"
    ADMIN = "admin"


S = OrderStatus

# (from, to) -> the party roles allowed to make that move.
TRANSITIONS: dict[tuple[str, str], frozenset[Role]] = {
    (S.PENDING, S.IN_PROGRESS): frozenset({Role.CREATOR}),  # the creator accepts
    (S.PENDING, S.CANCELLED): frozenset({Role.BUYER, Role.CREATOR}),
    (S.IN_PROGRESS, S.DELIVERED): frozenset({Role.CREATOR}),
    (S.IN_PROGRESS, S.CANCELLED): frozenset({Role.CREATOR}),
    (S.DELIVERED, S.COMPLETED): frozenset({Role.BUYER}),  # the buyer accepts the delivery
    (S.DELIVERED, S.IN_PROGRESS): frozenset({Role.BUYER}),  # the buyer asks for a revision
}


def roles_of(*, order: Order, user_id: int, is_admin: bool) -> set[Role]:
    roles: set[Role] = set()
    if user_id == order.buyer_id:
        roles.add(Role.BUYER)
    if user_id == order.creator_id:
        roles.add(Role.CREATOR)
    if is_admin:
        roles.add(Role.ADMIN)
    return roles


def viewer_role(*, order: Order, user_id: int | None) -> Role:
    """The one role someone looking at the order (its page, its rooms, its dispute's) has: a
    party's, else admin. Only staff get past the selectors when they are not a party."""
    if user_id == order.buyer_id:
        return Role.BUYER
    if user_id == order.creator_id:
        return Role.CREATOR
    return Role.ADMIN


def moves_from(status: str) -> list[str]:
    """Every status reachable from `status` by anyone."""
    return [to for (frm, to) in TRANSITIONS if frm == status]


def may_move(*, roles: set[Role], from_status: str, to_status: str) -> bool:
    allowed = TRANSITIONS.get((from_status, to_status))
    if allowed is None:
        return False
    return Role.ADMIN in roles or bool(roles & allowed)


def allowed_moves(
    *, order: Order, user_id: int, is_admin: bool, paid: bool = True, disputed: bool = False
) -> list[str]:
    """The moves this user may make now, in the table's order.

    `paid`: nobody accepts an unpaid order. `disputed`: while a dispute is open only an admin
    completes or cancels.
    """
    roles = roles_of(order=order, user_id=user_id, is_admin=is_admin)
    moves = [
        to
        for to in moves_from(order.status)
        if may_move(roles=roles, from_status=order.status, to_status=to)
    ]
    if not paid and order.status == S.PENDING:
        moves = [to for to in moves if to != S.IN_PROGRESS]
    if disputed and not is_admin:
        moves = [to for to in moves if to not in (S.COMPLETED, S.CANCELLED)]
    return moves
