"""ws /ws/orders/{order_id}/ — one order's room: the order domain plugged into the timeline
room (chat/timeline.py)."""

from __future__ import annotations

from typing import Any

from echo_site import events, realtime
from orders import services
from orders.rooms import order_room_state
from orders.selectors import order_last_seqs
from orders.serializers import MessageInputSerializer, message_payload
from orders.state import viewer_role

from ..timeline import RoomConsumer
from .order_frames import order_status_frame, order_timeline_frames


class OrderRoomConsumer(RoomConsumer):
    """ws /ws/orders/{order_id}/ — one order's room."""

    def room_name(self) -> str:
        self.order_id = int(self.scope["url_route"]["kwargs"]["order_id"])
        return realtime.order_group(self.order_id)

    def load_room(self) -> dict[str, Any]:
        self.order_id = int(self.scope["url_route"]["kwargs"]["order_id"])
        # The order, its snapshot and the unread count in one read (one query on PostgreSQL).
        self.room_state = order_room_state(order_id=self.order_id, user=self.user)
        order = self.order = self.room_state.order
        role = viewer_role(order=order, user_id=self.user.pk).value
        return {"role": role}

    def hello_frame(self) -> dict[str, Any]:
        state, self.room_state = self.room_state, None  # type: ignore[assignment]
        return {
            "type": "hello",
            "room": "order",
            "order_id": state.order.pk,
            "you": {"user_id": self.user.pk, "role": self.role},
            "order": state.snapshot,
            "status": state.order.status,
            "allowed_moves": state.snapshot["allowed_moves"],
            "last_seq": state.order.last_seq,
            "unread": state.unread,
        }

    def timeline_frames(self, after: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        return order_timeline_frames(
            order_id=self.order_id, user=self.user, after=after, limit=limit
        )

    def tail_reader(self) -> Any:
        return order_last_seqs

    def room_id(self) -> int:
        return self.order_id

    def post_message(
        self, content: str, client_id: str | None, attachment_ids: list[int] | None = None
    ) -> tuple[dict[str, Any], int]:
        message, _ = services.message_post(
            order=self.order,
            sender=self.user,
            content=content,
            client_id=client_id,
            attachment_ids=attachment_ids,
        )
        return dict(message_payload(message)), message.seq

    def mark_read(self, seq: int) -> int:
        return services.read_mark(order=self.order, user=self.user, seq=seq)

    def message_input_serializer(self) -> Any:
        return MessageInputSerializer

    def check_thread_open(self) -> None:
        services.message_thread_check(order_id=self.order_id)

    def seq_event_frame(
        self, event: str, data: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:

        if event == events.MESSAGE_NEW:
            return data["seq"], {"type": events.MESSAGE_NEW, "message": data["message"]}
        if event == events.DELIVERY_NEW:
            return data["seq"], {"type": events.DELIVERY_NEW, **data}
        if event in (events.ORDER_STATUS, events.ORDER_CREATED):
            return data["seq"], order_status_frame(data["order"], data["event"], self.user)
        if event in (events.ORDER_LATE, events.ORDER_REMINDER):
            frame = order_status_frame(data["order"], data["event"], self.user)
            return data["seq"], {**frame, "type": event}
        return None
