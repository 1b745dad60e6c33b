"""What disputes announce: to the dispute room, the order room, both parties' feeds and the
admins' mediation queue. Called inside the services' transactions; sent after commit."""

from __future__ import annotations

from typing import Any

from echo_site import events
from echo_site.realtime import (
    admin_disputes_group,
    broadcast_on_commit,
    dispute_group,
    order_group,
    user_group,
)

from .models import Dispute, DisputeMessage
from .serializers import DisputeSerializer, dispute_message_payload


def dispute_data(dispute: Dispute) -> dict[str, Any]:
    return dict(DisputeSerializer(dispute).data)


def _everyone(dispute: Dispute) -> list[str]:
    order = dispute.order
    return [
        dispute_group(dispute.pk),
        order_group(order.pk),
        user_group(order.buyer_id),
        user_group(order.creator_id),
    ]


def _announce(dispute: Dispute, event: str) -> None:
    data = {
        "dispute_id": dispute.pk,
        "order_id": dispute.order_id,
        "dispute": dispute_data(dispute),
    }
    broadcast_on_commit(groups=_everyone(dispute), event=event, data=data)
    queue_event = (
        events.DISPUTE_OPENED if event == events.DISPUTE_OPENED else events.DISPUTE_UPDATED
    )
    broadcast_on_commit(groups=[admin_disputes_group()], event=queue_event, data=data)


def dispute_opened(*, dispute: Dispute) -> None:
    _announce(dispute, events.DISPUTE_OPENED)


def dispute_status_changed(*, dispute: Dispute) -> None:
    _announce(dispute, events.DISPUTE_STATUS)


def dispute_sla_flagged(*, dispute: Dispute) -> None:
    """The mediation desk's queue only: the dispute has waited too long for an admin."""
    data = {
        "dispute_id": dispute.pk,
        "order_id": dispute.order_id,
        "dispute": dispute_data(dispute),
    }
    broadcast_on_commit(groups=[admin_disputes_group()], event=events.DISPUTE_UPDATED, data=data)


def dispute_closed(*, dispute: Dispute) -> None:
    _announce(dispute, events.DISPUTE_CLOSED)


def dispute_message_posted(*, dispute: Dispute, message: DisputeMessage) -> None:
    broadcast_on_commit(
        groups=[dispute_group(dispute.pk)],
        event=events.MESSAGE_NEW,
        data={
            "dispute_id": dispute.pk,
            "seq": message.seq,
            "message": dispute_message_payload(message),
        },
    )


def dispute_read(*, dispute: Dispute, user_id: int, seq: int) -> None:
    broadcast_on_commit(
        groups=[dispute_group(dispute.pk)],
        event=events.READ,
        data={"dispute_id": dispute.pk, "user_id": user_id, "seq": seq},
    )
