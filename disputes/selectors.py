"""Reads and access checks for disputes."""

from __future__ import annotations

from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from echo_site.errors import ErrorCode, ServiceError
from echo_site.prepared import sql_constants
from orders.hooks import OrderFact
from orders.models import OrderStatus
from orders.selectors import is_admin

from .models import OPEN_STATUSES, Dispute, DisputeMessage, DisputeOutcome, DisputeReadMark


def dispute_allowed_outcomes(*, order_status: str) -> list[str]:
    """The outcomes a dispute on an order at `order_status` may close with.

    An active order may end any way. A COMPLETED order stays COMPLETED whatever the outcome (a
    refund takes money back without moving it). A CANCELLED order was refunded when it was
    cancelled: only REFUND_BUYER says what happened; it can neither complete nor resume.
    """
    if order_status == OrderStatus.CANCELLED:
        return [DisputeOutcome.REFUND_BUYER.value]
    return list(DisputeOutcome.values)


def _disputes() -> QuerySet[Dispute]:
    return Dispute.objects.select_related("order", "opened_by")


def dispute_get_for_user(*, dispute_id: int, user: Any) -> Dispute:
    """The dispute for its order's parties and admins; 404 if unknown, 403 otherwise."""
    dispute = _disputes().filter(pk=dispute_id).first()
    if dispute is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"Dispute {dispute_id} does not exist.")
    if not (dispute.order.is_party(user.pk) or is_admin(user)):
        raise ServiceError(ErrorCode.NOT_A_PARTY, "You are not a party to this dispute.")
    return dispute


def dispute_admin_participants(*, dispute_id: int) -> list[int]:
    """The admins who joined the dispute (opened its room or posted in it: both leave a read
    mark) and are admins still; the order's parties are not counted here."""
    return sorted(
        DisputeReadMark.objects.filter(
            dispute_id=dispute_id, user__is_staff=True, user__is_active=True
        )
        .exclude(
            Q(user_id=F("dispute__order__buyer_id")) | Q(user_id=F("dispute__order__creator_id"))
        )
        .values_list("user_id", flat=True)
    )


def dispute_list_for_user(*, user: Any, status: str | None = None) -> QuerySet[Dispute]:
    disputes = _disputes()
    if not is_admin(user):
        disputes = disputes.filter(Q(order__buyer=user) | Q(order__creator=user))
    if status:
        disputes = disputes.filter(status=status)
    return disputes.order_by("-created_at", "-id")


def dispute_list_mine(*, user: Any) -> QuerySet[Dispute]:
    """Disputes on orders where the user is a party (admins included: only their own orders)."""
    return (
        _disputes()
        .filter(Q(order__buyer=user) | Q(order__creator=user))
        .order_by("-created_at", "-id")
    )


def dispute_list_open() -> QuerySet[Dispute]:
    return _disputes().filter(status__in=OPEN_STATUSES).order_by("created_at", "id")


def dispute_open_for_order(*, order_id: int) -> Dispute | None:
    return Dispute.objects.filter(order_id=order_id, status__in=OPEN_STATUSES).first()


def _open_dispute_id(order_id: int) -> int | None:
    dispute = dispute_open_for_order(order_id=order_id)
    return dispute.pk if dispute else None


def _open_dispute_sql() -> str:
    return f"""(SELECT d.id FROM {Dispute._meta.db_table} d
     WHERE d.order_id = o.id AND d.status IN ({sql_constants(OPEN_STATUSES)})
     ORDER BY d.id LIMIT 1)"""  # noqa: S608 - our own table name and constants


# "open_dispute_id", as orders reads it (orders.hooks; registered by DisputesConfig.ready()).
ORDER_OPEN_DISPUTE_ID = OrderFact(
    annotation=lambda: Subquery(
        Dispute.objects.filter(order_id=OuterRef("pk"), status__in=OPEN_STATUSES).values("pk")[:1]
    ),
    sql=_open_dispute_sql,
    read=_open_dispute_id,
)


def dispute_last_seqs(dispute_ids: set[int]) -> dict[int, int]:
    """{dispute id: last timeline seq}, one query (the live heartbeat's tail check)."""
    return dict(Dispute.objects.filter(pk__in=dispute_ids).values_list("pk", "last_seq"))


def dispute_messages_after(*, dispute_id: int, after: int, limit: int) -> list[DisputeMessage]:
    return list(
        DisputeMessage.objects.filter(dispute_id=dispute_id, seq__gt=after)
        .select_related("sender")
        .prefetch_related("attachments")
        .order_by("seq")[:limit]
    )
