"""ws /ws/disputes/{dispute_id}/ — a dispute's thread: the disputes domain plugged into the
timeline room (chat/timeline.py)."""

from __future__ import annotations

from typing import Any

from disputes import services
from disputes.live import dispute_data
from disputes.models import Dispute
from disputes.selectors import dispute_get_for_user, dispute_last_seqs, dispute_messages_after
from disputes.serializers import DisputeMessageInputSerializer, dispute_message_payload
from echo_site import events, realtime
from orders.state import Role, viewer_role

from ..timeline import RoomConsumer


class DisputeRoomConsumer(RoomConsumer):
    """ws /ws/disputes/{dispute_id}/ — the dispute's thread, for both parties and any admin."""

    def room_name(self) -> str:
        self.dispute_id = int(self.scope["url_route"]["kwargs"]["dispute_id"])
        return realtime.dispute_group(self.dispute_id)

    def admin_may_post(self) -> bool:
        return True

    def load_room(self) -> dict[str, Any]:
        self.dispute_id = int(self.scope["url_route"]["kwargs"]["dispute_id"])
        dispute = dispute_get_for_user(dispute_id=self.dispute_id, user=self.user)
        role = viewer_role(order=dispute.order, user_id=self.user.pk).value
        if role == Role.ADMIN:  # an admin joining the room starts the review
            dispute = services.dispute_admin_joined(dispute=dispute, admin=self.user)
        self.dispute = dispute
        return {"role": role}

    def hello_frame(self) -> dict[str, Any]:
        dispute = Dispute.objects.select_related("opened_by").get(pk=self.dispute_id)
        self.dispute.status = dispute.status
        return {
            "type": "hello",
            "room": "dispute",
            "dispute_id": dispute.pk,
            "order_id": dispute.order_id,
            "you": {"user_id": self.user.pk, "role": self.role},
            "dispute": dispute_data(dispute),
            "status": dispute.status,
            "last_seq": dispute.last_seq,
        }

    def timeline_frames(self, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        return [
            (m.seq, {"type": events.MESSAGE_NEW, "message": dispute_message_payload(m)})
            for m in dispute_messages_after(dispute_id=self.dispute_id, after=after, limit=limit)
        ]

    def tail_reader(self) -> Any:
        return dispute_last_seqs

    def room_id(self) -> int:
        return self.dispute_id

    def post_message(
        self, content: str, client_id: str | None, attachment_ids: list[int] | None = None
    ) -> tuple[dict[str, Any], int]:
        message, _ = services.dispute_message_post(
            dispute=self.dispute,
            sender=self.user,
            content=content,
            client_id=client_id,
            attachment_ids=attachment_ids,
        )
        return dict(dispute_message_payload(message)), message.seq

    def mark_read(self, seq: int) -> int:
        return services.dispute_read_mark(dispute=self.dispute, user=self.user, seq=seq)

    def message_input_serializer(self) -> Any:
        return DisputeMessageInputSerializer

    def check_thread_open(self) -> None:
        services.dispute_thread_check(dispute_id=self.dispute_id)

    def seq_event_frame(
        self, event: str, data: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        if event == events.MESSAGE_NEW:
            return data["seq"], {"type": events.MESSAGE_NEW, "message": data["message"]}
        return None
