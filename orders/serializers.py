"""Input and output shapes of the orders API."""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from drf_spectacular.drainage import set_override
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from echo_site.realtime import api_datetime

from . import hooks
from .deadlines import DEADLINE_KINDS, order_deadline
from .models import (
    MAX_DELIVERY_DAYS,
    MAX_REVISIONS,
    SYSTEM_USERNAME,
    Attachment,
    Delivery,
    DeliveryDecision,
    Item,
    ItemType,
    Message,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderStatus,
    Review,
)
from .selectors import order_allowed_moves, order_is_paid, order_open_dispute_id


class CamelCaseAliasMixin:
    """Accept ECHO's first implementation's camelCase keys (itemId, finalPrice, orderId).

    The snake_case key wins when a client sends both.
    """

    aliases: dict[str, str] = {
        "itemId": "item_id",
        "finalPrice": "final_price",
        "orderId": "order_id",
        "clientId": "client_id",
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) or hasattr(data, "keys"):
            data = dict(data.items())
            for camel, snake in self.aliases.items():
                if camel in data and snake not in data:
                    data[snake] = data.pop(camel)
        return super().to_internal_value(data)  # type: ignore[misc]


# The largest id or seq the database stores (a signed 64-bit integer): a bigger number in a
# query or body is bad input (400), not a crash in the database driver.
MAX_ID = 2**63 - 1


class StrictStringMixin:
    """A JSON string and only a string: DRF's CharField would turn 12 or true into text."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("not_a_string")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(StrictStringMixin, serializers.CharField):
    default_error_messages = {"not_a_string": "Not a string."}


class StrictRegexField(StrictStringMixin, serializers.RegexField):
    default_error_messages = {"not_a_string": "Not a string."}


# A money string: plain ASCII digits, an optional point and one or two decimals. Python's Decimal
# would also take "1_000", "+5", " 5 ", "٥" (Arabic-Indic five) and "1e3"; the API does not.
MONEY_PATTERN = r"^[0-9]{1,8}(?:\.[0-9]{1,2})?$"
_MONEY_RE = re.compile(MONEY_PATTERN, re.ASCII)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and only that: not "5", not 5.0, not true (DRF takes all three).

    For ids and numbers in request bodies; query parameters (always text) use IntegerField.
    """

    default_error_messages = {"not_an_integer": "Must be a JSON integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_an_integer")
        return super().to_internal_value(data)  # type: ignore[no-any-return]


class MoneyInputField(serializers.DecimalField):
    """A money amount in a request: a decimal string ("280.00") or, as ECHO's first clients send
    it, a JSON number (280). The schema says both; a string must match MONEY_PATTERN."""

    default_error_messages = {
        "money_format": "A plain decimal amount such as 280 or 280.00 (ASCII digits only).",
    }

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # DRF reads "" and "  " as null; a blank string is no amount.
        if isinstance(data, str) and not _MONEY_RE.fullmatch(data):
            self.fail("money_format")
        return super().validate_empty_values(data)  # type: ignore[no-any-return]

    def to_internal_value(self, data: Any) -> Decimal:
        # A JSON number arrives as int or Decimal (echo_site/parsers.py), a float from Python.
        if isinstance(data, str):
            if not _MONEY_RE.fullmatch(data):
                self.fail("money_format")
        elif isinstance(data, bool) or not isinstance(data, int | float | Decimal):
            self.fail("money_format")
        elif isinstance(data, float | Decimal) and not math.isfinite(data):
            self.fail("money_format")
        return super().to_internal_value(data)  # type: ignore[no-any-return]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=10, decimal_places=2, **kwargs)
        bounds = {}
        if self.min_value is not None:
            bounds["minimum"] = float(self.min_value)
        if self.max_value is not None:
            bounds["maximum"] = float(self.max_value)
        schema: dict[str, Any] = {
            "oneOf": [
                {"type": "string", "format": "decimal", "pattern": MONEY_PATTERN},
                {"type": "number", **bounds},
            ]
        }
        if self.allow_null:
            schema["nullable"] = True
        set_override(self, "field", schema)


def price_field(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=2, **kwargs)


class ErrorSerializer(serializers.Serializer):
    """Every error: {"error", "code", "fields"} (some codes add keys, e.g. allowed_moves)."""

    error = serializers.CharField()
    code = serializers.CharField()
    fields = serializers.DictField(  # type: ignore[assignment]  # the metaclass pops it
        child=serializers.ListField(child=serializers.CharField())
    )


@functools.cache  # one component per name, however many views list the same rows
def page_of(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of one page of `serializer_class` rows, as the list endpoints render it."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return inline_serializer(
        name=f"Paginated{name}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


# --- Users ------------------------------------------------------------------------------------


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    is_admin = serializers.BooleanField(source="is_staff", read_only=True)


class RegisterInputSerializer(serializers.Serializer):
    # Types and bounds only: the rules are the service's (orders/usernames.py), as for the page.
    username = StrictCharField(max_length=300, trim_whitespace=False)
    email = StrictCharField(max_length=254)
    password = StrictCharField(min_length=1, max_length=128, write_only=True)


# --- Listings ---------------------------------------------------------------------------------


class ItemSerializer(serializers.ModelSerializer):
    creator_id = serializers.IntegerField(read_only=True)
    creator_username = serializers.CharField(source="creator.username", read_only=True)
    base_price = price_field(read_only=True)

    class Meta:
        model = Item
        fields = [
            "id",
            "creator_id",
            "creator_username",
            "title",
            "description",
            "base_price",
            "item_type",
            "delivery_days",
            "revisions_included",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ItemInputSerializer(CamelCaseAliasMixin, serializers.Serializer):
    aliases = {
        "basePrice": "base_price",
        "itemType": "item_type",
        "deliveryDays": "delivery_days",
        "revisionsIncluded": "revisions_included",
    }
    title = StrictCharField(min_length=3, max_length=150)
    description = StrictCharField(max_length=5000, required=False, allow_blank=True, default="")
    base_price = MoneyInputField(
        min_value=Decimal("0"), max_value=Decimal(settings.ORDER_MAX_PRICE)
    )
    item_type = serializers.ChoiceField(choices=ItemType.choices)
    delivery_days = StrictIntegerField(
        min_value=1, max_value=MAX_DELIVERY_DAYS, required=False, default=7
    )
    revisions_included = StrictIntegerField(
        min_value=0,
        max_value=MAX_REVISIONS,
        required=False,
        allow_null=True,
        default=None,
        help_text="Revision rounds included; null (the default) for unlimited.",
    )


class ItemPatchSerializer(ItemInputSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


class ItemFilterSerializer(serializers.Serializer):
    # An empty filter (?item_type=) means no filter, as browsers' forms send it.
    item_type = serializers.ChoiceField(choices=ItemType.choices, required=False, allow_blank=True)
    creator = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


# --- Orders -----------------------------------------------------------------------------------


_PRICE = price_field(read_only=True)


def _when(value: Any) -> str | None:
    return None if value is None else api_datetime(value)


def order_payload(
    order: Order, *, paid: bool, open_dispute_id: int | None, moves: list[str]
) -> dict[str, Any]:
    """The one builder of an order's payload (REST, broadcasts, the live room's hello and
    replay), given the facts other apps own (paid, the open dispute) and the caller's moves.
    Built directly: the order room's hello runs it for every socket that opens."""
    return {
        "id": order.pk,
        "buyer_id": order.buyer_id,
        "creator_id": order.creator_id,
        "item_id": order.item_id,
        "item_title": order.item_title,
        "item_description": order.item_description,
        "item_type": order.item_type,
        "listed_price": _PRICE.to_representation(order.listed_price),
        "final_price": _PRICE.to_representation(order.final_price),
        "status": order.status,
        "last_seq": order.last_seq,
        "created_at": _when(order.created_at),
        "updated_at": _when(order.updated_at),
        "completed_at": _when(order.completed_at),
        "delivery_days": order.delivery_days,
        "revisions_included": order.revisions_included,
        "revisions_granted": order.revisions_granted,
        "revisions_used": order.revisions_used,
        "accepted_at": _when(order.accepted_at),
        "due_at": _when(order.due_at),
        "delivered_at": _when(order.delivered_at),
        "late_at": _when(order.late_at),
        "allowed_moves": moves,
        "is_paid": bool(paid),
        "payments_simulated": hooks.payments_simulated(),
        "open_dispute_id": open_dispute_id,
        "deadline": _deadline(order, disputed=open_dispute_id is not None),
    }


def _deadline(order: Order, *, disputed: bool) -> dict[str, Any] | None:
    deadline = order_deadline(order, disputed=disputed)
    if deadline is None:
        return None
    return {"kind": deadline["kind"], "at": api_datetime(deadline["at"])}


class DeadlineSerializer(serializers.Serializer):
    """What the time-based rules will do next, and when (null: nothing is scheduled)."""

    kind = serializers.ChoiceField(
        choices=[(k, k) for k in DEADLINE_KINDS],
        help_text="accept_by: the creator must accept by `at`, else the order is cancelled and "
        "refunded; due_by: delivery due; late_since: past due since `at`; auto_complete: "
        "completes by itself at `at` unless the buyer answers.",
    )
    at = serializers.DateTimeField()


class OrderSerializer(serializers.ModelSerializer):
    """The fields declare the schema; the payload is `order_payload`'s."""

    buyer_id = serializers.IntegerField(read_only=True)
    creator_id = serializers.IntegerField(read_only=True)
    item_id = serializers.IntegerField(read_only=True)
    item_title = serializers.CharField(
        read_only=True, help_text="The listing's title when the order was placed."
    )
    item_description = serializers.CharField(
        read_only=True, help_text="The listing's description when the order was placed."
    )
    item_type = serializers.ChoiceField(
        choices=ItemType.choices,
        read_only=True,
        help_text="The listing's type when the order was placed.",
    )
    listed_price = price_field(
        read_only=True, help_text="The listing's price when the order was placed."
    )
    final_price = price_field(read_only=True, help_text="The price agreed for this order.")
    delivery_days = serializers.IntegerField(
        read_only=True, help_text="The listing's delivery days when the order was placed."
    )
    revisions_included = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The listing's revision rounds when the order was placed; null: unlimited.",
    )
    revisions_granted = serializers.IntegerField(
        read_only=True, help_text="Extra revision rounds the creator granted."
    )
    revisions_used = serializers.IntegerField(
        read_only=True, help_text="Revision rounds the buyer asked for."
    )
    accepted_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the creator accepted the order."
    )
    due_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="accepted_at plus delivery_days."
    )
    allowed_moves = serializers.SerializerMethodField()
    is_paid = serializers.SerializerMethodField()
    payments_simulated = serializers.SerializerMethodField()
    open_dispute_id = serializers.SerializerMethodField()
    deadline = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "buyer_id",
            "creator_id",
            "item_id",
            "item_title",
            "item_description",
            "item_type",
            "listed_price",
            "final_price",
            "status",
            "last_seq",
            "created_at",
            "updated_at",
            "completed_at",
            "delivery_days",
            "revisions_included",
            "revisions_granted",
            "revisions_used",
            "accepted_at",
            "due_at",
            "delivered_at",
            "late_at",
            "allowed_moves",
            "is_paid",
            "payments_simulated",
            "open_dispute_id",
            "deadline",
        ]
        read_only_fields = fields

    @extend_schema_field(DeadlineSerializer(allow_null=True))
    def get_deadline(self, order: Order) -> dict[str, Any] | None:
        return _deadline(order, disputed=order_open_dispute_id(order=order) is not None)

    def get_is_paid(self, order: Order) -> bool:
        return order_is_paid(order=order)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_open_dispute_id(self, order: Order) -> int | None:
        return order_open_dispute_id(order=order)

    def get_payments_simulated(self, order: Order) -> bool:
        return hooks.payments_simulated()

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=OrderStatus.choices))
    )
    def get_allowed_moves(self, order: Order) -> list[str]:
        if self.context.get("omit_allowed_moves"):
            return []
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        return order_allowed_moves(order=order, user=user)

    def to_representation(self, instance: Order) -> dict[str, Any]:
        return order_payload(
            instance,
            paid=self.get_is_paid(instance),
            open_dispute_id=self.get_open_dispute_id(instance),
            moves=self.get_allowed_moves(instance),
        )


class OrderCreateInputSerializer(CamelCaseAliasMixin, serializers.Serializer):
    item_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    final_price = MoneyInputField(
        required=False,
        allow_null=True,
        min_value=Decimal("0.01"),
        max_value=Decimal(settings.ORDER_MAX_PRICE),
    )


class OrderListFilterSerializer(serializers.Serializer):
    # An empty filter (?status=) means no filter.
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=["buyer", "creator"], required=False, allow_blank=True)


class OrderMoveInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    note = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


class OrderEventSerializer(serializers.ModelSerializer):
    order_id = serializers.IntegerField(read_only=True)
    actor_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="null when the system acted (actor_kind)."
    )
    actor_username = serializers.SerializerMethodField(
        help_text='The actor\'s username; "system" when the system acted.'
    )
    actor_kind = serializers.SerializerMethodField(
        help_text="system: recorded by the time-based rules (auto-complete, auto-cancel, late, "
        "reminder), not by a person."
    )
    kind = serializers.ChoiceField(
        choices=OrderEventKind.choices,
        read_only=True,
        help_text="move: a status move; late, reminder: a notice of the time-based rules; "
        "revisions_granted: the creator granted revision rounds (from_status == to_status "
        "for all but moves).",
    )
    from_status = serializers.CharField(read_only=True, help_text="Empty for the placement.")

    class Meta:
        model = OrderEvent
        fields = [
            "id",
            "order_id",
            "seq",
            "actor_id",
            "actor_username",
            "actor_kind",
            "kind",
            "from_status",
            "to_status",
            "note",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=[("user", "user"), ("system", "system")]))
    def get_actor_kind(self, event: OrderEvent) -> str:
        return "system" if event.actor_id is None else "user"

    def get_actor_username(self, event: OrderEvent) -> str:
        return SYSTEM_USERNAME if event.actor is None else str(event.actor.username)


class SeqPageQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, max_value=MAX_ID, required=False, default=0)
    before = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=200, required=False, default=50)


class EventPageQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, max_value=MAX_ID, required=False, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=200, required=False, default=200)


# --- Messages ---------------------------------------------------------------------------------


class MessagePayload(TypedDict):
    """A message as every client sees it: REST, the live broadcast and ack, and the replay
    (orders/rooms.py's SQL renders exactly these keys, checked when it is built)."""

    id: int
    order_id: int
    seq: int
    sender_id: int
    sender_username: str
    content: str
    sent_at: str
    client_id: str | None
    attachments: list[AttachmentPayload]


class AttachmentPayload(TypedDict):
    """A file as every client sees it; the bytes come through GET /api/attachments/{id}/download."""

    id: int
    name: str
    size: int
    content_type: str
    has_preview: bool


def attachment_payload(attachment: Attachment) -> AttachmentPayload:
    return {
        "id": attachment.pk,
        "name": attachment.original_name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "has_preview": bool(attachment.preview_key),
    }


def attachment_payloads(owner: Any) -> list[AttachmentPayload]:
    """An owner's (message's, delivery's) files: given by the service that attached them
    (`attachment_payloads` set on the instance), prefetched, or read."""
    given = getattr(owner, "attachment_payloads", None)
    if given is not None:
        return list(given)
    return [attachment_payload(a) for a in owner.attachments.all()]


class AttachmentSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name", read_only=True)
    has_preview = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "size", "content_type", "has_preview"]
        read_only_fields = fields

    def get_has_preview(self, attachment: Attachment) -> bool:
        return bool(attachment.preview_key)

    def to_representation(self, instance: Attachment) -> dict[str, Any]:
        return dict(attachment_payload(instance))


def message_payload(message: Message) -> MessagePayload:
    """The one builder of a message's payload. Built directly, not through DRF's field machinery:
    it runs for every message sent (the ack and the broadcast), where the serializer was a
    measurable share of the per-message CPU (docs/benchmarks.md)."""
    return {
        "id": message.pk,
        "order_id": message.order_id,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "sender_username": message.sender.username,
        "content": message.content,
        "sent_at": api_datetime(message.sent_at),
        "client_id": message.client_id,
        "attachments": attachment_payloads(message),
    }


class MessageSerializer(serializers.ModelSerializer):
    """The fields declare the schema (OpenAPI, and through it AsyncAPI); the payload itself is
    `message_payload`'s."""

    order_id = serializers.IntegerField(read_only=True)
    sender_id = serializers.IntegerField(read_only=True)
    sender_username = serializers.CharField(source="sender.username", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "order_id",
            "seq",
            "sender_id",
            "sender_username",
            "content",
            "sent_at",
            "client_id",
            "attachments",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Message) -> dict[str, Any]:
        return dict(message_payload(instance))


class MessageInputSerializer(CamelCaseAliasMixin, serializers.Serializer):
    # Length is checked on the trimmed text by the service; the cap here rejects huge bodies early.
    content = StrictCharField(trim_whitespace=False, allow_blank=True, max_length=20000)
    client_id = StrictCharField(max_length=64, required=False, allow_null=True)
    attachment_ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=5,
        help_text="Files uploaded first (POST /api/orders/{id}/attachments), at most 5.",
    )


class OrderMessageInputSerializer(MessageInputSerializer):
    order_id = StrictIntegerField(min_value=1, max_value=MAX_ID)


class MessagePageSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    has_more = serializers.BooleanField()
    last_seq = serializers.IntegerField()


class EventPageSerializer(serializers.Serializer):
    results = OrderEventSerializer(many=True)
    has_more = serializers.BooleanField()
    last_seq = serializers.IntegerField()


# --- Deliveries -------------------------------------------------------------------------------


def delivery_payload(delivery: Delivery, *, revisions_allowed: int | None) -> dict[str, Any]:
    """The one builder of a delivery's payload (REST, delivery.new, the replay)."""
    return {
        "id": delivery.pk,
        "order_id": delivery.order_id,
        "seq": delivery.seq,
        "creator_id": delivery.creator_id,
        "message": delivery.message,
        "revision": delivery.revision,
        "revisions_allowed": revisions_allowed,
        "decision": delivery.decision,
        "decision_note": delivery.decision_note,
        "decided_at": _when(delivery.decided_at),
        "created_at": _when(delivery.created_at),
        "attachments": attachment_payloads(delivery),
    }


class DeliverySerializer(serializers.ModelSerializer):
    """The fields declare the schema; the payload is `delivery_payload`'s. Give the order's
    `revisions_allowed` in the context (else it is read from the delivery's order)."""

    order_id = serializers.IntegerField(read_only=True)
    creator_id = serializers.IntegerField(read_only=True)
    revision = serializers.IntegerField(
        read_only=True, help_text="0: the first delivery; n: the answer to revision request n."
    )
    revisions_allowed = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Revision rounds the order allows in all (included + granted); null: unlimited.",
    )
    decision = serializers.ChoiceField(
        choices=DeliveryDecision.choices,
        read_only=True,
        help_text="The buyer's answer: empty while awaited.",
    )
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "order_id",
            "seq",
            "creator_id",
            "message",
            "revision",
            "revisions_allowed",
            "decision",
            "decision_note",
            "decided_at",
            "created_at",
            "attachments",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Delivery) -> dict[str, Any]:
        if "revisions_allowed" in self.context:
            allowed = self.context["revisions_allowed"]
        else:
            allowed = instance.order.revisions_allowed
        return delivery_payload(instance, revisions_allowed=allowed)


class DeliveryInputSerializer(serializers.Serializer):
    message = StrictCharField(trim_whitespace=False, allow_blank=True, max_length=20000)
    attachment_ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=10,
        help_text="Files uploaded first (POST /api/orders/{id}/attachments), at most 10.",
    )


class RevisionRequestInputSerializer(serializers.Serializer):
    reason = StrictCharField(trim_whitespace=False, allow_blank=True, max_length=1000)


class RevisionGrantInputSerializer(serializers.Serializer):
    count = StrictIntegerField(min_value=1, max_value=MAX_REVISIONS, required=False, default=1)
    note = StrictCharField(max_length=900, required=False, allow_blank=True, default="")


class AttachmentLinkSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="Short-lived; a relative path when served by ECHO.")
    preview_url = serializers.CharField(allow_null=True)
    expires_in = serializers.IntegerField(help_text="Seconds the links stay valid.")


# --- Reviews ----------------------------------------------------------------------------------


class ReviewSerializer(serializers.ModelSerializer):
    order_id = serializers.IntegerField(read_only=True)
    author_id = serializers.IntegerField(read_only=True)
    author_username = serializers.CharField(source="author.username", read_only=True)
    creator_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Review
        fields = [
            "id",
            "order_id",
            "author_id",
            "author_username",
            "creator_id",
            "score",
            "comment",
            "created_at",
        ]
        read_only_fields = fields


class ReviewInputSerializer(CamelCaseAliasMixin, serializers.Serializer):
    order_id = StrictIntegerField(min_value=1, max_value=MAX_ID)
    score = StrictIntegerField(min_value=1, max_value=5)
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class ReviewAverageSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()
