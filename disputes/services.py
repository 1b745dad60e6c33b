"""Every write on disputes: open, post, review, close with an outcome that moves the money.

Lock order, everywhere: the order row first, then the dispute row, then the payment row (the
payments services lock it), so concurrent closes and moves cannot deadlock (orders/services.py
says how rows are locked).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from echo_site.errors import ErrorCode, ServiceError
from orders import hooks
from orders import services as order_services
from orders.attachments.services import MAX_PER_MESSAGE, attachments_claim
from orders.models import FINAL_STATUSES, Order, OrderStatus
from orders.selectors import is_admin
from orders.serializers import attachment_payload
from orders.services import message_input_clean
from payments import services as payments
from payments.models import FUNDED_STATUSES, Payment

from . import live
from .models import (
    OPEN_STATUSES,
    Dispute,
    DisputeMessage,
    DisputeOutcome,
    DisputeReadMark,
    DisputeStatus,
)
from .selectors import dispute_admin_participants, dispute_allowed_outcomes

DISPUTABLE_STATUSES = (OrderStatus.IN_PROGRESS, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
CENT = Decimal("0.01")


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(ErrorCode.INVALID, f"{field}: {message}", fields={field: [message]})


def order_move_guard(*, order: Order, to_status: str, actor: Any) -> None:
    """While a dispute is open, only an admin may complete or cancel the order."""
    if to_status not in (OrderStatus.COMPLETED, OrderStatus.CANCELLED) or is_admin(actor):
        return
    dispute = Dispute.objects.filter(order_id=order.pk, status__in=OPEN_STATUSES).first()
    if dispute is not None:
        raise ServiceError(
            ErrorCode.DISPUTE_OPEN,
            f"Dispute #{dispute.pk} is open on this order; an admin decides how it ends.",
            extra={"dispute_id": dispute.pk},
        )


def dispute_open(*, order: Order, opened_by: Any, reason: str) -> Dispute:
    reason = (reason or "").strip()
    if not 10 <= len(reason) <= 500:
        raise _invalid("reason", "Must be 10 to 500 characters.")
    if not order.is_party(opened_by.pk):
        raise ServiceError(
            ErrorCode.NOT_A_PARTY, "Only the order's buyer or creator may dispute it."
        )

    with transaction.atomic():
        locked = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
        if locked.status not in DISPUTABLE_STATUSES:
            raise ServiceError(
                ErrorCode.ORDER_NOT_DISPUTABLE,
                f"An order that is {locked.status} cannot be disputed.",
                extra={"status": locked.status},
            )
        if locked.status == OrderStatus.COMPLETED:
            window = timedelta(days=settings.DISPUTE_WINDOW_DAYS)
            if locked.completed_at is None or timezone.now() > locked.completed_at + window:
                raise ServiceError(
                    ErrorCode.DISPUTE_WINDOW_CLOSED,
                    f"Completed orders can be disputed for {settings.DISPUTE_WINDOW_DAYS} days.",
                )
        existing = Dispute.objects.filter(order=locked, status__in=OPEN_STATUSES).first()
        if existing is not None:
            raise _already_open(existing.pk)
        try:
            with transaction.atomic():
                dispute = Dispute.objects.create(order=locked, opened_by=opened_by, reason=reason)
        except IntegrityError as exc:  # the unique constraint decides a race
            other = Dispute.objects.filter(order=locked, status__in=OPEN_STATUSES).first()
            raise _already_open(other.pk if other else None) from exc
        dispute.order = locked
        live.dispute_opened(dispute=dispute)
        hooks.event_happened(
            order=locked,
            kind=hooks.EVENT_DISPUTE_OPENED,
            actor_id=opened_by.pk,
            data={"dispute_id": dispute.pk},
        )
    return dispute


def _already_open(dispute_id: int | None) -> ServiceError:
    return ServiceError(
        ErrorCode.DISPUTE_ALREADY_OPEN,
        "This order already has an open dispute.",
        extra={"dispute_id": dispute_id},
    )


def _lock(dispute: Dispute) -> Dispute:
    """The dispute's row, locked; its order read with it but not locked (`of`): a caller that
    needs the order locks it first (the lock order, orders/services.py)."""
    return (
        Dispute.objects.select_for_update(no_key=True, of=("self",))
        .select_related("order")
        .get(pk=dispute.pk)
    )


def _start_review(locked: Dispute) -> None:
    """OPEN -> UNDER_REVIEW, the first time an admin joins or posts. Caller holds the lock."""
    if locked.status == DisputeStatus.OPEN:
        locked.status = DisputeStatus.UNDER_REVIEW
        locked.reviewed_at = timezone.now()
        locked.save(update_fields=["status", "reviewed_at"])
        live.dispute_status_changed(dispute=locked)
        hooks.event_happened(
            order=locked.order,
            kind=hooks.EVENT_DISPUTE_REVIEW,
            actor_id=None,
            data={"dispute_id": locked.pk},
        )


def dispute_admin_joined(*, dispute: Dispute, admin: Any) -> Dispute:
    """An admin opened the dispute's room: they take part in its thread from now on (a read
    mark, which is how notify finds them for unread messages); the first one starts the review."""
    if not is_admin(admin):
        raise ServiceError(ErrorCode.PERMISSION_DENIED, "Only admins review disputes.")
    DisputeReadMark.objects.get_or_create(dispute_id=dispute.pk, user=admin)
    if dispute.status != DisputeStatus.OPEN:
        return dispute
    with transaction.atomic():
        locked = _lock(dispute)
        _start_review(locked)
    return locked


def _thread_closed() -> ServiceError:
    return ServiceError(ErrorCode.DISPUTE_CLOSED, "This dispute is closed.")


def dispute_thread_check(*, dispute_id: int) -> None:
    """Raise what dispute_message_post raises when the thread takes no messages now (closed, or
    gone); the live room refuses `typing` with it."""
    status = Dispute.objects.filter(pk=dispute_id).values_list("status", flat=True).first()
    if status is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"Dispute {dispute_id} does not exist.")
    if status == DisputeStatus.CLOSED:
        raise _thread_closed()


def dispute_message_post(
    *,
    dispute: Dispute,
    sender: Any,
    content: str,
    client_id: str | None = None,
    attachment_ids: list[int] | None = None,
) -> tuple[DisputeMessage, bool]:
    """Store a message in the dispute's thread; returns (message, created).

    The same client_id again from the same sender returns the first message.
    `attachment_ids`: up to 5 of the sender's uploads on the dispute's order, not yet sent.
    """
    content, client_id = message_input_clean(content=content, client_id=client_id)
    admin = is_admin(sender)
    if not (dispute.order.is_party(sender.pk) or admin):
        raise ServiceError(ErrorCode.NOT_A_PARTY, "You are not a party to this dispute.")

    with transaction.atomic():
        locked = _lock(dispute)
        if client_id is not None:
            existing = (
                DisputeMessage.objects.select_related("sender")
                .filter(dispute=locked, sender=sender, client_id=client_id)
                .first()
            )
            if existing is not None:
                return existing, False
        if locked.status == DisputeStatus.CLOSED:
            raise _thread_closed()
        locked.last_seq += 1
        Dispute.objects.filter(pk=locked.pk).update(last_seq=locked.last_seq)
        from_admin = admin and not locked.order.is_party(sender.pk)
        message = DisputeMessage.objects.create(
            dispute=locked,
            seq=locked.last_seq,
            sender=sender,
            content=content,
            from_admin=from_admin,
            client_id=client_id,
        )
        if attachment_ids:
            files = attachments_claim(
                order=locked.order, uploader=sender, ids=attachment_ids, limit=MAX_PER_MESSAGE
            )
            message.attachments.set(files)
            message.attachment_payloads = [  # type: ignore[attr-defined]
                attachment_payload(a) for a in files
            ]
        else:
            message.attachment_payloads = []  # type: ignore[attr-defined]
        DisputeReadMark.objects.update_or_create(
            dispute=locked, user=sender, defaults={"last_read_seq": locked.last_seq}
        )
        live.dispute_message_posted(dispute=locked, message=message)
        _message_event(dispute=locked, message=message, sender=sender)
        if from_admin:
            _start_review(locked)
    dispute.last_seq = locked.last_seq
    dispute.status = locked.status
    return message, True


def _message_event(*, dispute: Dispute, message: DisputeMessage, sender: Any) -> None:
    """Tell notify (orders.hooks): the thread's other participants may not be looking."""
    hooks.event_happened(
        order=dispute.order,
        kind=hooks.EVENT_DISPUTE_MESSAGE,
        actor_id=sender.pk,
        data={
            "dispute_id": dispute.pk,
            "message_id": message.pk,
            "seq": message.seq,
            "sender_id": sender.pk,
            "sender_name": sender.get_username(),
            "content": message.content,
            "admin_ids": dispute_admin_participants(dispute_id=dispute.pk),
        },
    )


def dispute_read_mark(*, dispute: Dispute, user: Any, seq: int) -> int:
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise _invalid("seq", "Must be a non-negative integer.")
    with transaction.atomic():
        locked = _lock(dispute)
        seq = min(seq, locked.last_seq)
        mark, _ = DisputeReadMark.objects.select_for_update().get_or_create(
            dispute=locked, user=user
        )
        if seq > mark.last_read_seq:
            mark.last_read_seq = seq
            mark.save(update_fields=["last_read_seq"])
            live.dispute_read(dispute=locked, user_id=user.pk, seq=seq)
    return mark.last_read_seq


def dispute_close(
    *,
    dispute: Dispute,
    actor: Any,
    resolution: str,
    outcome: str,
    refund_amount: Decimal | None = None,
) -> Dispute:
    """Close with an outcome; the order and the money follow, exactly once.

    REFUND_BUYER: full refund, order CANCELLED. PARTIAL_REFUND: refund `refund_amount` (above 0,
    below what is left of the payment), order COMPLETED, creator paid the rest minus the fee.
    RELEASE_TO_CREATOR: order COMPLETED, payout. RESUME: nothing moves.

    A COMPLETED or CANCELLED order is final and never moves: on a COMPLETED order the refunds
    only take money back; a CANCELLED order allows REFUND_BUYER only
    (`dispute_allowed_outcomes`; anything else is 409 outcome_not_allowed).
    """
    if not is_admin(actor):
        raise ServiceError(ErrorCode.PERMISSION_DENIED, "Only admins close disputes.")
    resolution = (resolution or "").strip()
    if not 1 <= len(resolution) <= 5000:
        raise _invalid("resolution", "Must be 1 to 5000 characters.")
    if outcome not in DisputeOutcome.values:
        raise _invalid("outcome", f"One of {', '.join(DisputeOutcome.values)}.")
    if outcome == DisputeOutcome.PARTIAL_REFUND:
        if refund_amount is None:
            raise _invalid("refund_amount", "Required for PARTIAL_REFUND.")
        if not isinstance(refund_amount, Decimal):
            raise TypeError("money must be Decimal")
        if refund_amount <= 0 or refund_amount != refund_amount.quantize(CENT):
            raise _invalid("refund_amount", "Must be above 0 with at most 2 decimal places.")
    elif refund_amount is not None:
        raise _invalid("refund_amount", "Only PARTIAL_REFUND takes a refund_amount.")

    with transaction.atomic():
        order = Order.objects.select_for_update(no_key=True).get(pk=dispute.order_id)
        locked = _lock(dispute)
        if locked.status == DisputeStatus.CLOSED:
            raise ServiceError(
                ErrorCode.DISPUTE_CLOSED,
                "This dispute is closed already.",
                extra={"outcome": locked.outcome},
            )
        allowed = dispute_allowed_outcomes(order_status=order.status)
        if outcome not in allowed:
            raise ServiceError(
                ErrorCode.OUTCOME_NOT_ALLOWED,
                f"The order is {order.status}; this dispute can close with "
                f"{' or '.join(allowed)} only.",
                extra={"status": order.status, "allowed_outcomes": allowed},
            )
        final = order.status in FINAL_STATUSES  # never moved again, only the money follows
        note = f"Dispute #{locked.pk} closed: {DisputeOutcome(outcome).label.lower()}."
        if outcome == DisputeOutcome.PARTIAL_REFUND:
            assert refund_amount is not None  # noqa: S101 - checked above
            payment = Payment.objects.filter(order_id=order.pk).first()
            if payment is None or payment.status not in FUNDED_STATUSES:
                raise ServiceError(
                    ErrorCode.PAYMENT_NOT_REFUNDABLE,
                    "Nothing was paid on this order, so nothing can be refunded.",
                )
            left = payment.total_amount - payment.refunded_amount
            if refund_amount >= left:
                raise _invalid(
                    "refund_amount",
                    f"Must be below what was paid and not yet refunded ({left}); "
                    "use REFUND_BUYER for a full refund.",
                )
            payments.refund_create(
                payment=payment,
                idempotency_key=f"dispute-{locked.pk}",
                amount=refund_amount,
                reason=f"Dispute #{locked.pk}",
            )
            if not final:
                order_services.order_settle(
                    order=order, actor=actor, to_status=OrderStatus.COMPLETED, note=note
                )
        elif outcome == DisputeOutcome.REFUND_BUYER:
            if not final:
                # Cancelling a paid order refunds what is left of it (the payments hook).
                order_services.order_settle(
                    order=order, actor=actor, to_status=OrderStatus.CANCELLED, note=note
                )
            else:
                # The order stays as it ended; the buyer gets back what is left of the payment.
                payment = Payment.objects.filter(order_id=order.pk).first()
                if (
                    payment is not None
                    and payment.status in FUNDED_STATUSES
                    and payment.refunded_amount < payment.total_amount
                ):
                    payments.refund_create(
                        payment=payment,
                        idempotency_key=f"dispute-{locked.pk}",
                        reason=f"Dispute #{locked.pk}",
                    )
        elif outcome == DisputeOutcome.RELEASE_TO_CREATOR:
            if not final:
                order_services.order_settle(
                    order=order, actor=actor, to_status=OrderStatus.COMPLETED, note=note
                )
        locked.status = DisputeStatus.CLOSED
        locked.resolution = resolution
        locked.outcome = outcome
        locked.refund_amount = refund_amount
        locked.closed_at = timezone.now()
        locked.closed_by = actor
        locked.save(
            update_fields=[
                "status",
                "resolution",
                "outcome",
                "refund_amount",
                "closed_at",
                "closed_by",
            ]
        )
        locked.order = order
        live.dispute_closed(dispute=locked)
        hooks.event_happened(
            order=order,
            kind=hooks.EVENT_DISPUTE_CLOSED,
            actor_id=actor.pk,
            data={"dispute_id": locked.pk, "outcome": outcome},
        )
    return locked
