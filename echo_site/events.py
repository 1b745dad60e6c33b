"""The live-event contract: every frame the server sends and accepts on a websocket, declared once.

Each frame is a TypedDict. TypedDict rather than dataclasses or pydantic: frames are built and
sent as plain dicts on the hot path (orjson serializes them directly), so a TypedDict costs
nothing at run time, mypy checks every builder that annotates its result with one, and the JSON
Schema of the AsyncAPI document (echo_site/asyncapi.py, served at /api/asyncapi.json) is derived
from the same annotations. Resources a frame carries (an order, a message, a payment...) are the
REST API's own schemas (`Resource("Order")` names the OpenAPI component), so a frame's `order`
is by construction what GET /api/orders/{id} returns.

The test suite validates every frame any test receives against the generated schema
(tests/conftest.py), so this module, the document and the code cannot drift apart.
"""

from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, NotRequired, TypedDict, get_type_hints

from echo_site.errors import ErrorCode

# --- Frame names ------------------------------------------------------------------------------
# Server -> client
HELLO: Final = "hello"
MESSAGE_NEW: Final = "message.new"
MESSAGE_ACK: Final = "message.ack"
ORDER_CREATED: Final = "order.created"
ORDER_STATUS: Final = "order.status"
# Notices of the time-based rules on the order's timeline (an OrderEvent of that kind, by the
# system actor): the order is past due; the order completes by itself in a day.
ORDER_LATE: Final = "order.late"
ORDER_REMINDER: Final = "order.reminder"
READ: Final = "read"
TYPING: Final = "typing"
PRESENCE: Final = "presence"
SYNC_DONE: Final = "sync.done"
PONG: Final = "pong"
ERROR: Final = "error"
# A bearer socket's token: renewed (the answer to AUTH_REFRESH), about to expire.
AUTH_REFRESHED: Final = "auth.refreshed"
AUTH_EXPIRING: Final = "auth.expiring"
REVIEW_NEW: Final = "review.new"
DELIVERY_NEW: Final = "delivery.new"
PAYMENT_SUCCEEDED: Final = "payment.succeeded"
PAYMENT_FAILED: Final = "payment.failed"
PAYMENT_REFUNDED: Final = "payment.refunded"
PAYOUT_WAITING: Final = "payout.waiting"
PAYOUT_PENDING: Final = "payout.pending"
PAYOUT_PAID: Final = "payout.paid"
PAYOUT_FAILED: Final = "payout.failed"
PAYOUT_NOT_NEEDED: Final = "payout.not_needed"
DISPUTE_OPENED: Final = "dispute.opened"
DISPUTE_STATUS: Final = "dispute.status"
DISPUTE_CLOSED: Final = "dispute.closed"
DISPUTE_UPDATED: Final = "dispute.updated"  # the mediation desk's name for status and close
# Client -> server (TYPING and READ are also client frames, with other fields)
PING: Final = "ping"
MESSAGE_SEND: Final = "message.send"
SYNC: Final = "sync"
AUTH_REFRESH: Final = "auth.refresh"
# Between processes only: closes the user's sockets (4401), never sent as a frame.
AUTH_REVOKED: Final = "auth.revoked"


@dataclass(frozen=True)
class Resource:
    """A REST resource inside a frame: the OpenAPI component of that name (plus `extra`
    properties, all required, e.g. the notification feed's message preview flag)."""

    component: str
    extra: tuple[tuple[str, Any], ...] = ()  # (name, annotation) pairs: hashable, as typing needs


OrderJSON = Annotated[dict[str, Any], Resource("Order")]
OrderEventJSON = Annotated[dict[str, Any], Resource("OrderEvent")]
MessageJSON = Annotated[dict[str, Any], Resource("Message")]
MessagePreviewJSON = Annotated[dict[str, Any], Resource("Message", (("preview", Literal[True]),))]
DisputeJSON = Annotated[dict[str, Any], Resource("Dispute")]
DisputeMessageJSON = Annotated[dict[str, Any], Resource("DisputeMessage")]
ReviewJSON = Annotated[dict[str, Any], Resource("Review")]
DeliveryJSON = Annotated[dict[str, Any], Resource("Delivery")]
PaymentJSON = Annotated[dict[str, Any], Resource("Payment")]
RefundJSON = Annotated[dict[str, Any], Resource("Refund")]
PayoutJSON = Annotated[dict[str, Any], Resource("Payout")]

Role = Literal["buyer", "creator", "admin"]
ErrorRef = str | int | None


class You(TypedDict):
    user_id: int
    role: Role


class Present(TypedDict):
    user_id: int
    role: Role


# --- Server -> client -------------------------------------------------------------------------


class OrderHello(TypedDict):
    """First frame on an order room: the order as REST renders it, and where the timeline is."""

    type: Literal["hello"]
    room: Literal["order"]
    order_id: int
    you: You
    order: OrderJSON
    status: str
    allowed_moves: list[str]
    last_seq: int
    unread: int
    online: list[Present]


class DisputeHello(TypedDict):
    type: Literal["hello"]
    room: Literal["dispute"]
    dispute_id: int
    order_id: int
    you: You
    dispute: DisputeJSON
    status: str
    last_seq: int
    online: list[Present]


class NotificationsHello(TypedDict):
    """unread: {order id (a string, as JSON keys are): unread messages}."""

    type: Literal["hello"]
    room: Literal["notifications"]
    user_id: int
    unread: dict[str, int]


class DeskHello(TypedDict):
    type: Literal["hello"]
    room: Literal["admin.disputes"]
    open: list[DisputeJSON]


class MessageNew(TypedDict):
    """A message on the room's timeline (an order's or a dispute's)."""

    type: Literal["message.new"]
    message: MessageJSON | DisputeMessageJSON


class MessageNewInFeed(TypedDict):
    """The notifications feed's copy: the content cut to a preview."""

    type: Literal["message.new"]
    order_id: int
    seq: int
    message: MessagePreviewJSON


class MessageAck(TypedDict):
    """To the sender only, in timeline order, instead of its own message.new."""

    type: Literal["message.ack"]
    client_id: str | None
    message: MessageJSON | DisputeMessageJSON


class OrderStatus(TypedDict):
    """A move on the order room's timeline: the order after it, and the move; or a notice of the
    time-based rules (order.late, order.reminder: event.kind says which, the status is unchanged).
    """

    type: Literal["order.status", "order.late", "order.reminder"]
    order: OrderJSON
    event: OrderEventJSON


class DeliveryNew(TypedDict):
    """The creator delivered: the delivery with its files, on the order's timeline (seq), in the
    order's room and both parties' feeds; the order.status frame of the move follows."""

    type: Literal["delivery.new"]
    order_id: int
    seq: int
    delivery: DeliveryJSON


class OrderChangeInFeed(TypedDict):
    type: Literal["order.status", "order.created", "order.late", "order.reminder"]
    order_id: int
    seq: int
    order: OrderJSON
    event: OrderEventJSON


class OrderRead(TypedDict):
    type: Literal["read"]
    order_id: int
    user_id: int
    seq: int


class DisputeRead(TypedDict):
    type: Literal["read"]
    dispute_id: int
    user_id: int
    seq: int


class Typing(TypedDict):
    type: Literal["typing"]
    user_id: int
    active: bool


class Presence(TypedDict):
    type: Literal["presence"]
    user_id: int
    online: bool
    role: Role


class SyncDone(TypedDict):
    type: Literal["sync.done"]
    last_seq: int


class Pong(TypedDict):
    """last_seq: the highest seq delivered on this socket (rooms with a timeline only)."""

    type: Literal["pong"]
    last_seq: NotRequired[int]


class ErrorFrame(TypedDict):
    """A refused frame; the socket stays open. ref: the frame's `ref`, else its `client_id`."""

    type: Literal["error"]
    code: ErrorCode
    message: str
    ref: ErrorRef


class AuthRefreshed(TypedDict):
    """The answer to auth.refresh: the socket now lives until the new token's expiry (ISO 8601,
    UTC)."""

    type: Literal["auth.refreshed"]
    expires_at: str


class AuthExpiring(TypedDict):
    """Sent WS_TOKEN_EXPIRY_WARNING_SECONDS before the socket's access token expires (once per
    token; bearer sockets only): send auth.refresh before expires_at, or the socket closes 4401."""

    type: Literal["auth.expiring"]
    expires_at: str


class ReviewNew(TypedDict):
    type: Literal["review.new"]
    order_id: int
    review: ReviewJSON


class PaymentChange(TypedDict):
    type: Literal["payment.succeeded", "payment.failed"]
    order_id: int
    payment: PaymentJSON


class PaymentRefunded(TypedDict):
    type: Literal["payment.refunded"]
    order_id: int
    payment: PaymentJSON
    refund: RefundJSON


class PayoutChange(TypedDict):
    type: Literal[
        "payout.waiting", "payout.pending", "payout.paid", "payout.failed", "payout.not_needed"
    ]
    order_id: int
    payment: PaymentJSON
    payout: PayoutJSON


class DisputeChange(TypedDict):
    """dispute.updated is the mediation desk's name for dispute.status and dispute.closed."""

    type: Literal["dispute.opened", "dispute.status", "dispute.closed", "dispute.updated"]
    dispute_id: int
    order_id: int
    dispute: DisputeJSON


# --- Client -> server -------------------------------------------------------------------------
# Every client frame may carry a `ref` (a string or an integer) that an error frame echoes.


class Ping(TypedDict):
    type: Literal["ping"]
    ref: NotRequired[ErrorRef]


class MessageSend(TypedDict):
    """content: 1 to MESSAGE_MAX_LENGTH characters; client_id: the sender's idempotency key."""

    type: Literal["message.send"]
    content: str
    client_id: NotRequired[str | None]
    attachment_ids: NotRequired[list[int]]
    ref: NotRequired[ErrorRef]


class TypingSend(TypedDict):
    type: Literal["typing"]
    active: bool
    ref: NotRequired[ErrorRef]


class ReadSend(TypedDict):
    type: Literal["read"]
    seq: int
    ref: NotRequired[ErrorRef]


class SyncSend(TypedDict):
    type: Literal["sync"]
    after_seq: int
    ref: NotRequired[ErrorRef]


class AuthRefresh(TypedDict):
    """token: a fresh access token of the socket's own user (bearer sockets, and tickets bought
    with one); answered by auth.refreshed, or an error frame (the old expiry stands)."""

    type: Literal["auth.refresh"]
    token: str
    ref: NotRequired[ErrorRef]


# --- Rooms: which frames go where -------------------------------------------------------------


@dataclass(frozen=True)
class Room:
    name: str
    address: str
    description: str
    sends: tuple[type, ...]  # server -> client
    receives: tuple[type, ...]  # client -> server
    parameters: tuple[str, ...] = ()


_ANY_ROOM = (Pong, ErrorFrame, AuthRefreshed, AuthExpiring)
_ANY_ROOM_IN = (Ping, AuthRefresh)
_TIMELINE_IN = (*_ANY_ROOM_IN, MessageSend, TypingSend, ReadSend, SyncSend)
_ORDER_NEWS = (ReviewNew, PaymentChange, PaymentRefunded, PayoutChange, DisputeChange)

ROOMS = (
    Room(
        name="orderRoom",
        address="/ws/orders/{order_id}/",
        parameters=("order_id",),
        description="One order's room, for its buyer, its creator and admins: the chat and the "
        "moves on one gap-free timeline (seq), typing, presence, read marks, and everything "
        "else that happens to the order.",
        sends=(OrderHello, MessageNew, MessageAck, OrderStatus, OrderRead, Typing, Presence)
        + (DeliveryNew, SyncDone, *_ORDER_NEWS, *_ANY_ROOM),
        receives=_TIMELINE_IN,
    ),
    Room(
        name="notifications",
        address="/ws/notifications/",
        description="Everything on every order where the caller is a party (message previews, "
        "moves, read marks, payments, reviews, disputes).",
        sends=(NotificationsHello, MessageNewInFeed, OrderChangeInFeed, OrderRead, DeliveryNew)
        + (*_ORDER_NEWS, *_ANY_ROOM),
        receives=_ANY_ROOM_IN,
    ),
    Room(
        name="disputeRoom",
        address="/ws/disputes/{dispute_id}/",
        parameters=("dispute_id",),
        description="A dispute's thread, for both parties and any admin (an admin joining "
        "starts the review).",
        sends=(DisputeHello, MessageNew, MessageAck, DisputeRead, Typing, Presence, SyncDone)
        + (DisputeChange, *_ANY_ROOM),
        receives=_TIMELINE_IN,
    ),
    Room(
        name="mediationDesk",
        address="/ws/admin/disputes/",
        description="The mediation desk's live queue of open disputes (staff only).",
        sends=(DeskHello, DisputeChange, *_ANY_ROOM),
        receives=_ANY_ROOM_IN,
    ),
)


def frame_names(frame: type) -> tuple[str, ...]:
    """The `type` values a frame definition admits."""
    return tuple(get_type_hints(frame)["type"].__args__)
