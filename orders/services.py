"""Every write on listings, orders, messages and reviews.

Each function is keyword-only, validates its input, owns its transaction and announces what
happened through `orders.live` after commit.

Lock order, in every app: an order's row first, then its dispute's, then its payment's (then the
payout's). A service locks only what it needs but never takes one of these after a later one, so
concurrent moves, dispute closes and payments cannot deadlock (tests/disputes/test_lock_order.py).
Orders and disputes lock with `select_for_update(no_key=True)`, and `of=("self",)` where the
query joins (select_related), so only the intended row locks. FOR NO KEY UPDATE serializes every
writer of the row as FOR UPDATE would, but leaves alone the KEY SHARE lock PostgreSQL's
foreign-key checks take on a referenced row: an admin's first dispute message updates the dispute
twice (seq, then review), which re-checks its order key while the dispute is locked, and under
FOR UPDATE that waited for a closing dispute holding the order: a deadlock.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from echo_site.errors import ErrorCode, ServiceError
from echo_site.prepared import fetch_prepared, sql_constants

from . import hooks, live, usernames
from .attachments.services import MAX_PER_MESSAGE, attachments_claim
from .deadlines import due_from
from .models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    MAX_DELIVERY_DAYS,
    MAX_REVISIONS,
    Delivery,
    DeliveryDecision,
    Item,
    Message,
    Order,
    OrderEvent,
    OrderStatus,
    ReadMark,
    Review,
    terms_of,
)
from .selectors import is_admin, order_allowed_moves
from .serializers import attachment_payload
from .state import TRANSITIONS, may_move, moves_from, roles_of

User = get_user_model()

MAX_PRICE = Decimal(settings.ORDER_MAX_PRICE)


TAKEN = "This username is taken."
CONFUSABLE = "This username looks like one that is taken."


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(ErrorCode.INVALID, f"{field}: {message}", fields={field: [message]})


# --- Users ------------------------------------------------------------------------------------


def user_register(*, username: str, email: str, password: str) -> Any:
    """Create an account: the one registration path (the page and POST /api/auth/register).

    The username follows `orders.usernames` (NFKC, no invisible or direction characters, not
    confusable with an existing name). The answer never tells whether an email address is
    registered: with an address that is taken, the account is created all the same, without
    that address attached (the returned user shows the address given, like any other answer).
    """
    try:
        name = usernames.normalize(username)
    except usernames.UsernameRejected as exc:
        raise _invalid("username", str(exc)) from exc
    email = email.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise _invalid("email", "Enter a valid email address.") from exc
    if User.objects.filter(username__iexact=name).exists():
        raise _invalid("username", TAKEN)
    # Every existing name is compared: linear in the number of users (docs/reliability.md).
    existing = User.objects.values_list("username", flat=True).iterator(chunk_size=2000)
    if usernames.confusable_with_any(name, existing):
        raise _invalid("username", CONFUSABLE)
    candidate = User(username=name, email=email)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise ServiceError(
            ErrorCode.INVALID,
            f"password: {exc.messages[0]}",
            fields={"password": list(exc.messages)},
        ) from exc
    candidate.set_password(password)
    try:
        with transaction.atomic():
            if User.objects.filter(email__iexact=email).exists():
                candidate.email = ""
            candidate.save()
    except IntegrityError as exc:  # a concurrent registration took the name
        raise _invalid("username", TAKEN) from exc
    candidate.email = email
    return candidate


def user_make_admin(*, user: Any) -> None:
    """Make `user` a platform admin (staff: mediates disputes, may make any order move)."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
    user.is_staff = user.is_superuser = True


# --- Listings ---------------------------------------------------------------------------------


def _check_terms(delivery_days: Any, revisions_included: Any) -> None:
    if isinstance(delivery_days, bool) or not isinstance(delivery_days, int):
        raise _invalid("delivery_days", "Must be a whole number of days.")
    if not 1 <= delivery_days <= MAX_DELIVERY_DAYS:
        raise _invalid("delivery_days", f"From 1 to {MAX_DELIVERY_DAYS} days.")
    if revisions_included is not None and (
        isinstance(revisions_included, bool)
        or not isinstance(revisions_included, int)
        or not 0 <= revisions_included <= MAX_REVISIONS
    ):
        raise _invalid(
            "revisions_included", f"From 0 to {MAX_REVISIONS}, or null for unlimited revisions."
        )


def item_create(
    *,
    creator: Any,
    title: str,
    description: str,
    base_price: Decimal,
    item_type: str,
    delivery_days: int = 7,
    revisions_included: int | None = None,
) -> Item:
    """A new listing; `revisions_included` None means unlimited revisions."""
    _check_terms(delivery_days, revisions_included)
    with transaction.atomic():
        return Item.objects.create(
            creator=creator,
            title=title.strip(),
            description=description.strip(),
            base_price=base_price,
            item_type=item_type,
            delivery_days=delivery_days,
            revisions_included=revisions_included,
        )


def _require_item_owner(*, item: Item, actor: Any) -> None:
    if item.creator_id != actor.pk and not is_admin(actor):
        raise ServiceError(ErrorCode.PERMISSION_DENIED, "Only the listing's creator may change it.")


def item_update(*, item: Item, actor: Any, changes: dict[str, Any]) -> Item:
    _require_item_owner(item=item, actor=actor)
    allowed = {
        "title",
        "description",
        "base_price",
        "item_type",
        "delivery_days",
        "revisions_included",
    }
    _check_terms(
        changes.get("delivery_days", item.delivery_days),
        changes.get("revisions_included", item.revisions_included),
    )
    with transaction.atomic():
        for name, value in changes.items():
            if name not in allowed:
                continue
            setattr(item, name, value.strip() if isinstance(value, str) else value)
        item.save()
    return item


def item_archive(*, item: Item, actor: Any) -> None:
    """Delete a listing for everyone; orders already placed on it keep it for their history."""
    _require_item_owner(item=item, actor=actor)
    with transaction.atomic():
        Item.objects.filter(pk=item.pk).update(is_archived=True, updated_at=timezone.now())


# --- Orders -----------------------------------------------------------------------------------


def _next_seq(order_id: int) -> tuple[int, str] | None:
    """Take the next timeline number of an order: (seq, the order's status), or None if there is
    no such order.

    One round trip: the UPDATE takes the order's row lock (held until the transaction ends, so
    concurrent writers on the same order queue here) and RETURNING hands back the new number.
    A caller that then refuses (a closed order) raises, and the rollback gives the number back.
    """
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s "  # noqa: S608 - our table
            "RETURNING last_seq, status",
            [order_id],
        )
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row is not None else None


def _lock_order(order_id: int) -> Order:
    # The order's row only (`of`: the listing is read, not locked); see "Lock order" above.
    return (
        Order.objects.select_for_update(no_key=True, of=("self",))
        .select_related("item")
        .get(pk=order_id)
    )


def order_place(*, buyer: Any, item: Item, final_price: Decimal | None = None) -> Order:
    """Place an order on `item`; the order keeps the listing's terms as they are now
    (`orders.models.ORDER_TERMS`), whatever later happens to the listing."""
    if item.creator_id == buyer.pk:
        raise ServiceError(ErrorCode.OWN_ITEM, "You cannot order your own listing.")
    with transaction.atomic():
        # The listing's current row, locked: a concurrent edit lands wholly before or after.
        listing = Item.objects.select_for_update().filter(pk=item.pk, is_archived=False).first()
        if listing is None:
            raise ServiceError(ErrorCode.NOT_FOUND, f"Item {item.pk} does not exist.")
        price = listing.base_price if final_price is None else final_price
        if price <= 0:
            if final_price is None:
                raise _invalid(
                    "final_price", "This listing has no base price; send the agreed final_price."
                )
            raise _invalid("final_price", "Must be greater than 0.")
        if price > MAX_PRICE:
            raise _invalid("final_price", f"Must be at most {MAX_PRICE}.")
        if price != price.quantize(Decimal("0.01")):
            raise _invalid("final_price", "At most 2 decimal places.")
        order = Order.objects.create(
            buyer=buyer,
            creator_id=listing.creator_id,
            item=listing,
            final_price=price,
            last_seq=1,
            **terms_of(listing),
        )
        event = OrderEvent.objects.create(
            order=order, seq=1, actor=buyer, from_status="", to_status=OrderStatus.PENDING
        )
        live.order_placed(order=order, event=event)
        hooks.event_happened(order=order, kind=hooks.EVENT_PLACED, actor_id=buyer.pk, data={})
    return order


def order_move(*, order: Order, actor: Any, to_status: str, note: str = "") -> OrderEvent:
    """Move `order` to `to_status` if the state machine lets `actor` make that move now.

    The order row is locked for the check and the write, so of two concurrent moves one wins and
    the other sees the new state (409).
    """
    if to_status not in OrderStatus.values:
        raise _invalid("status", f"Unknown status {to_status!r}.")
    note = (note or "").strip()
    if len(note) > 1000:
        raise _invalid("note", "At most 1000 characters.")
    admin = is_admin(actor)
    if not (order.is_party(actor.pk) or admin):
        raise ServiceError(ErrorCode.NOT_A_PARTY, "You are not a party to this order.")

    with transaction.atomic():
        locked = _lock_order(order.pk)
        from_status = locked.status
        if (from_status, to_status) not in TRANSITIONS:
            allowed = order_allowed_moves(order=locked, user=actor)
            raise ServiceError(
                ErrorCode.INVALID_TRANSITION,
                f"An order that is {from_status} cannot move to {to_status}.",
                extra={
                    "status": from_status,
                    "allowed_moves": allowed,
                    "moves_from_status": moves_from(from_status),
                },
            )
        roles = roles_of(order=locked, user_id=actor.pk, is_admin=admin)
        if not may_move(roles=roles, from_status=from_status, to_status=to_status):
            who = " or ".join(sorted(TRANSITIONS[(from_status, to_status)]))
            raise ServiceError(
                ErrorCode.WRONG_ROLE,
                f"Only the {who} may move this order from {from_status} to {to_status}.",
                extra={"allowed_moves": order_allowed_moves(order=locked, user=actor)},
            )
        # Payment and dispute guards (409 order_not_paid, dispute_open), registered by those apps.
        for guard in hooks.move_guards:
            guard(order=locked, to_status=to_status, actor=actor)
        if (from_status, to_status) == (OrderStatus.DELIVERED, OrderStatus.IN_PROGRESS) and not (
            admin and not locked.is_party(actor.pk)
        ):
            _check_revision_left(locked)  # the buyer's rounds; an admin mediating may reopen
        event = _apply_move(order=locked, actor=actor, to_status=to_status, note=note)

    # Keep the caller's instance current.
    for name in MOVE_FIELDS:
        setattr(order, name, getattr(locked, name))
    return event


# What a move may change on the order: copied back onto the caller's instance.
MOVE_FIELDS = (
    "status",
    "last_seq",
    "updated_at",
    "completed_at",
    "accepted_at",
    "due_at",
    "delivered_at",
    "reminder_sent_at",
    "revisions_used",
    "revisions_granted",
)


def _check_revision_left(order: Order) -> None:
    """409 revisions_exhausted when the buyer has used every revision round the listing
    included and the creator granted."""
    allowed = order.revisions_allowed
    if allowed is not None and order.revisions_used >= allowed:
        raise ServiceError(
            ErrorCode.REVISIONS_EXHAUSTED,
            f"All {allowed} revision round(s) of this order are used; the creator may grant more.",
            extra={"revisions_used": order.revisions_used, "revisions_allowed": allowed},
        )


def _apply_move(*, order: Order, actor: Any, to_status: str, note: str) -> OrderEvent:
    """Write a move on a locked order: status, timeline entry, broadcast, money reaction."""
    from_status = order.status
    now = timezone.now()
    seq = order.last_seq + 1
    fields: dict[str, Any] = {"status": to_status, "last_seq": seq, "updated_at": now}
    if to_status == OrderStatus.COMPLETED:
        fields["completed_at"] = now
    if (from_status, to_status) == (OrderStatus.PENDING, OrderStatus.IN_PROGRESS):
        # The creator accepted: the delivery is due delivery_days from now (orders/timed.py
        # marks it late past that).
        fields["accepted_at"] = now
        fields["due_at"] = due_from(order, now)
    if to_status == OrderStatus.DELIVERED:
        fields["delivered_at"] = now  # the auto-complete clock (orders/timed.py)
        fields["reminder_sent_at"] = None  # each delivery gets its own reminder
    if from_status == OrderStatus.DELIVERED and to_status == OrderStatus.IN_PROGRESS:
        fields["revisions_used"] = order.revisions_used + 1
    if from_status == OrderStatus.DELIVERED:
        # The buyer's (or an outcome's) answer to the latest delivery, if there is one.
        decision = {
            OrderStatus.COMPLETED: DeliveryDecision.ACCEPTED,
            OrderStatus.IN_PROGRESS: DeliveryDecision.REVISION_REQUESTED,
        }.get(OrderStatus(to_status))
        latest = Delivery.objects.filter(order_id=order.pk).order_by("-seq").first()
        if decision is not None and latest is not None and not latest.decision:
            Delivery.objects.filter(pk=latest.pk).update(
                decision=decision, decision_note=note, decided_at=now
            )
    Order.objects.filter(pk=order.pk).update(**fields)
    for name, value in fields.items():
        setattr(order, name, value)
    event = OrderEvent.objects.create(
        order=order,
        seq=seq,
        actor=actor,
        from_status=from_status,
        to_status=to_status,
        note=note,
    )
    live.order_moved(order=order, event=event)
    hooks.event_happened(
        order=order,
        kind=hooks.EVENT_MOVED,
        actor_id=None if actor is None else actor.pk,  # None: the system (orders/timed.py)
        data={"from_status": from_status, "to_status": to_status, "seq": seq},
    )
    # Cancelled and paid: refund in full; completed: pay the creator (the payments app's
    # reaction, registered in orders.hooks; gateway calls after commit).
    for reaction in hooks.after_move:
        reaction(order=order, from_status=from_status, to_status=to_status)
    return event


def order_settle(*, order: Order, actor: Any, to_status: str, note: str) -> OrderEvent:
    """Move an active order straight to a final state, for a dispute outcome.

    Only the dispute service calls this (an admin closing a dispute); the move is recorded in the
    timeline like any other and the money follows as for an ordinary move. An order that is
    COMPLETED or CANCELLED already is final: it is never moved again (409 invalid_transition).
    """
    if to_status not in (OrderStatus.COMPLETED, OrderStatus.CANCELLED):
        raise _invalid("status", "A settlement ends in COMPLETED or CANCELLED.")
    if not is_admin(actor):
        raise ServiceError(ErrorCode.PERMISSION_DENIED, "Only admins settle orders.")
    with transaction.atomic():
        locked = _lock_order(order.pk)
        if locked.status in FINAL_STATUSES:
            raise ServiceError(
                ErrorCode.INVALID_TRANSITION,
                f"The order is {locked.status}, which is final; it cannot move to {to_status}.",
                extra={"status": locked.status, "allowed_moves": [], "moves_from_status": []},
            )
        event = _apply_move(order=locked, actor=actor, to_status=to_status, note=note[:1000])
    for name in MOVE_FIELDS:
        setattr(order, name, getattr(locked, name))
    return event


# --- Messages ---------------------------------------------------------------------------------


def message_input_clean(*, content: Any, client_id: Any) -> tuple[str, str | None]:
    """Trimmed content (1 to MESSAGE_MAX_LENGTH characters) and client_id (at most 64, or None).

    Shared by every message thread: order messages and dispute messages.
    """
    if not isinstance(content, str):
        raise _invalid("content", "Must be a string.")
    content = content.strip()
    if not content:
        raise _invalid("content", "Must not be empty.")
    if len(content) > settings.MESSAGE_MAX_LENGTH:
        raise _invalid("content", f"At most {settings.MESSAGE_MAX_LENGTH} characters.")
    if client_id is not None:
        client_id = str(client_id).strip() or None
        if client_id is not None and len(client_id) > 64:
            raise _invalid("client_id", "At most 64 characters.")
    return content, client_id


def _messages_closed(status: str) -> ServiceError:
    return ServiceError(
        ErrorCode.ORDER_CLOSED,
        f"The order is {status}; messages are closed.",
        extra={"status": status},
    )


def message_thread_check(*, order_id: int) -> None:
    """Raise what message_post raises when the order's thread takes no messages now (closed,
    or gone); the live rooms refuse `typing` with it."""
    status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
    if status is None:
        raise ServiceError(ErrorCode.NOT_FOUND, f"Order {order_id} does not exist.")
    if status not in ACTIVE_STATUSES:
        raise _messages_closed(status)


class _AlreadyStored(Exception):  # noqa: N818 - control flow, never leaves message_post
    def __init__(self, message: Message) -> None:
        self.message = message


def message_post(
    *,
    order: Order,
    sender: Any,
    content: str,
    client_id: str | None = None,
    attachment_ids: list[int] | None = None,
) -> tuple[Message, bool]:
    """Store a message on the order's timeline; returns (message, created).

    A client_id the sender already used on this order returns the first message and stores
    nothing new. `attachment_ids`: up to 5 of the sender's uploads on this order, not yet sent.
    """
    content, client_id = message_input_clean(content=content, client_id=client_id)
    if not order.is_party(sender.pk):
        raise ServiceError(ErrorCode.NOT_A_PARTY, "Only the order's buyer and creator may post.")
    sent_at = timezone.now()
    if attachment_ids:
        return _message_post_general(
            order=order,
            sender=sender,
            content=content,
            client_id=client_id,
            attachment_ids=attachment_ids,
        )
    if connection.vendor == "postgresql":
        # This is the hot path of every live room (docs/benchmarks.md): on PostgreSQL the seq
        # bump, the insert and the sender's read mark are one statement, one round trip.
        try:
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                stored = _message_insert_one_statement(
                    order=order, sender=sender, content=content, client_id=client_id, at=sent_at
                )
                if stored is not None:
                    # As Django builds a row it has read (the fast path of Model.__init__),
                    # with the order and sender we already hold as its related objects.
                    message = Message.from_db(
                        connection.alias,
                        _MESSAGE_FIELDS,
                        (stored[0], order.pk, stored[1], sender.pk, content, client_id, sent_at),
                    )
                    message._state.fields_cache.update(order=order, sender=sender)
                    message.attachment_payloads = []  # type: ignore[attr-defined]
                    live.message_posted(order=order, message=message)
                    _message_event(
                        order=order,
                        message=message,
                        sender=sender,
                        in_statement=bool(hooks.message_statement_parts),
                    )
                    order.last_seq = message.seq
                    return message, True
        except IntegrityError:
            # The same client_id again (a retry): the statement stored nothing and took no seq.
            if client_id is not None and (existing := _message_original(order, sender, client_id)):
                return existing, False
            raise
        # No row: the order is closed or gone, or this is a retry on a closed order. The general
        # path below tells which.
    return _message_post_general(order=order, sender=sender, content=content, client_id=client_id)


_MESSAGE_FIELDS = ["id", "order_id", "seq", "sender_id", "content", "client_id", "sent_at"]
_ORDER_TABLE = Order._meta.db_table
_MESSAGE_TABLE = Message._meta.db_table
_READ_MARK_TABLE = ReadMark._meta.db_table
_ACTIVE_LIST = sql_constants(ACTIVE_STATUSES)
_MESSAGE_INSERT_HEAD = f"""
WITH bumped AS (
    UPDATE {_ORDER_TABLE} SET last_seq = last_seq + 1
    WHERE id = %(order)s::bigint AND status IN ({_ACTIVE_LIST})
    RETURNING id, last_seq, buyer_id, creator_id
), stored AS (
    INSERT INTO {_MESSAGE_TABLE} (order_id, seq, sender_id, content, client_id, sent_at)
    SELECT id, last_seq, %(sender)s::bigint, %(content)s::text, %(client_id)s::varchar,
        %(at)s::timestamptz
    FROM bumped
    RETURNING id, seq
), marked AS (
    INSERT INTO {_READ_MARK_TABLE} (order_id, user_id, last_read_seq, updated_at)
    SELECT %(order)s::bigint, %(sender)s::bigint, seq, %(at)s::timestamptz FROM stored
    ON CONFLICT (order_id, user_id)
    DO UPDATE SET last_read_seq = EXCLUDED.last_read_seq, updated_at = EXCLUDED.updated_at
)"""  # noqa: S608 - our own table names; every value is a parameter
_MESSAGE_INSERT_TAIL = """
SELECT id, seq FROM stored
"""


@functools.cache
def _message_insert_sql(parts: tuple[hooks.MessageStatementPart, ...]) -> str:
    """The one statement: the message, its seq, the sender's read mark, and the rows of every
    registered part (orders.hooks.MessageStatementPart)."""
    extra = "".join(f", {part.name} AS ({part.cte})" for part in parts)
    return _MESSAGE_INSERT_HEAD + extra + _MESSAGE_INSERT_TAIL


def _message_insert_one_statement(
    *, order: Order, sender: Any, content: str, client_id: str | None, at: Any
) -> tuple[int, int] | None:
    """(message id, seq), or None if the order is not open for messages. One statement is one
    transaction: the UPDATE takes the order's row lock (concurrent writers on the order queue
    there) and a unique violation (a retried client_id) undoes the seq bump with the rest.
    A server-side prepared statement (echo_site/prepared.py); a retried client_id is Django's
    IntegrityError as usual.
    """
    parts = tuple(hooks.message_statement_parts)
    params = {
        "order": order.pk,
        "sender": sender.pk,
        "content": content,
        "client_id": client_id,
        "at": at,
    }
    for part in parts:
        params.update(part.params(order, sender, content))
    rows = fetch_prepared(_message_insert_sql(parts), params)
    row = rows[0] if rows else None
    return (int(row[0]), int(row[1])) if row is not None else None


def _message_original(order: Order, sender: Any, client_id: str) -> Message | None:
    return (
        Message.objects.select_related("sender")
        .filter(order_id=order.pk, sender=sender, client_id=client_id)
        .first()
    )


def _message_post_general(
    *,
    order: Order,
    sender: Any,
    content: str,
    client_id: str | None,
    attachment_ids: list[int] | None = None,
) -> tuple[Message, bool]:
    """message_post through the ORM: SQLite (no writes inside WITH), and the refusals."""
    try:
        with transaction.atomic():
            taken = _next_seq(order.pk)  # locks the order row until the commit
            if taken is None:
                raise ServiceError(ErrorCode.NOT_FOUND, f"Order {order.pk} does not exist.")
            seq, status = taken
            if status not in ACTIVE_STATUSES:
                if client_id is not None and (
                    existing := _message_original(order, sender, client_id)
                ):
                    raise _AlreadyStored(existing)  # a retry; rolls the seq back
                raise _messages_closed(status)
            message = Message.objects.create(
                order=order,
                seq=seq,
                sender=sender,
                content=content,
                client_id=client_id,
            )
            files = attachments_claim(
                order=order,
                uploader=sender,
                ids=attachment_ids or [],
                limit=MAX_PER_MESSAGE,
                message=message,
            )
            message.attachment_payloads = [  # type: ignore[attr-defined]
                attachment_payload(a) for a in files
            ]
            # The sender has read everything up to their own message (one upsert).
            ReadMark.objects.bulk_create(
                [ReadMark(order=order, user=sender, last_read_seq=seq)],
                update_conflicts=True,
                unique_fields=["order", "user"],
                update_fields=["last_read_seq", "updated_at"],
            )
            live.message_posted(order=order, message=message)
            _message_event(order=order, message=message, sender=sender)
    except _AlreadyStored as stored:
        return stored.message, False
    except IntegrityError:
        # The same client_id again (a retry): everything above rolled back, the seq too;
        # answer with the original.
        if client_id is not None and (existing := _message_original(order, sender, client_id)):
            return existing, False
        raise
    order.last_seq = seq
    return message, True


def _message_event(
    *, order: Order, message: Message, sender: Any, in_statement: bool = False
) -> None:
    hooks.event_happened(
        order=order,
        kind=hooks.EVENT_MESSAGE,
        actor_id=sender.pk,
        data={
            "message_id": message.pk,
            "seq": message.seq,
            "sender_id": sender.pk,
            "sender_name": sender.get_username(),
            "content": message.content,
            "in_statement": in_statement,
        },
    )


def read_mark(*, order: Order, user: Any, seq: int) -> int:
    """Record that `user` has read the timeline up to `seq`; marks never move backwards."""
    if not order.is_party(user.pk):
        raise ServiceError(ErrorCode.NOT_A_PARTY, "Only the order's parties keep read marks.")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise _invalid("seq", "Must be a non-negative integer.")
    with transaction.atomic():
        locked = _lock_order(order.pk)
        seq = min(seq, locked.last_seq)
        mark, _ = ReadMark.objects.select_for_update().get_or_create(order=locked, user=user)
        if seq > mark.last_read_seq:
            mark.last_read_seq = seq
            mark.save(update_fields=["last_read_seq", "updated_at"])
            live.read_marked(order=locked, user_id=user.pk, seq=seq)
    return mark.last_read_seq


# --- Reviews ----------------------------------------------------------------------------------


def review_leave(*, order: Order, author: Any, score: int, comment: str = "") -> Review:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise _invalid("score", "Must be a whole number from 1 to 5.")
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise _invalid("comment", "At most 2000 characters.")
    if order.buyer_id != author.pk:
        if order.creator_id == author.pk or is_admin(author):
            raise ServiceError(ErrorCode.WRONG_ROLE, "Only the buyer may review an order.")
        raise ServiceError(ErrorCode.NOT_A_PARTY, "You are not a party to this order.")
    if order.status != OrderStatus.COMPLETED:
        raise ServiceError(
            ErrorCode.ORDER_NOT_COMPLETED,
            f"Only a completed order can be reviewed; this one is {order.status}.",
        )
    try:
        with transaction.atomic():
            review = Review.objects.create(
                order=order,
                author=author,
                creator_id=order.creator_id,
                score=score,
                comment=comment,
            )
            live.review_left(order=order, review=review)
    except IntegrityError as exc:
        # The unique key on order decides between concurrent attempts.
        raise ServiceError(ErrorCode.ALREADY_REVIEWED, "This order has a review already.") from exc
    return review
