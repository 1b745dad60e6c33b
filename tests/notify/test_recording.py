"""Which events become outbox rows, for whom; nothing for a muted order; never breaks the action."""

from __future__ import annotations

from contextlib import nullcontext

import pytest
from django.db import DatabaseError, transaction

from disputes import services as dispute_services
from notify import recording
from notify import services as notify_services
from notify.models import Notification, NotificationPreference, OrderMute
from orders import services
from tests.conftest import pay

from .conftest import kinds_for

pytestmark = pytest.mark.django_db

REASON = "The delivery is not what we agreed on."


def test_new_order_and_payment_tell_the_creator_only(buyer, creator, order):
    assert kinds_for(creator) == ["order_placed"]
    pay(order)
    assert kinds_for(creator) == ["order_placed", "payment_received"]
    assert kinds_for(buyer) == []


def test_moves_tell_the_other_party(buyer, creator, paid_order):
    services.order_move(order=paid_order, actor=creator, to_status="IN_PROGRESS")
    services.order_move(order=paid_order, actor=creator, to_status="DELIVERED")
    services.order_move(order=paid_order, actor=buyer, to_status="IN_PROGRESS")  # revision
    moves = [n.payload for n in Notification.objects.filter(user=buyer, kind="order_moved")]
    assert moves == [
        {"from_status": "PENDING", "to_status": "IN_PROGRESS"},
        {"from_status": "IN_PROGRESS", "to_status": "DELIVERED"},
    ]
    revision = Notification.objects.get(user=creator, kind="order_moved")
    assert revision.payload == {"from_status": "DELIVERED", "to_status": "IN_PROGRESS"}
    assert revision.seq == paid_order.last_seq


def test_cancel_and_complete_tell_the_other_party(buyer, creator, make_order):
    cancelled = make_order("PENDING")
    services.order_move(order=cancelled, actor=buyer, to_status="CANCELLED")
    done = make_order("DELIVERED")
    services.order_move(order=done, actor=buyer, to_status="COMPLETED")
    told = {
        (n.order_id, n.payload["to_status"])
        for n in Notification.objects.filter(user=creator, kind="order_moved")
    }
    assert {(cancelled.pk, "CANCELLED"), (done.pk, "COMPLETED")} <= told


def test_a_message_tells_the_other_party_with_its_first_lines(buyer, creator, order):
    text = "line one\nline two\nline three\nline four"
    message, _ = services.message_post(order=order, sender=buyer, content=text)
    row = Notification.objects.get(user=creator, kind="message")
    assert row.seq == message.seq
    assert row.payload == {"sender": "buyer", "excerpt": "line one\nline two\nline three\n…"}
    assert not Notification.objects.filter(user=buyer, kind="message").exists()


def test_a_retried_message_records_nothing_new(buyer, creator, order):
    services.message_post(order=order, sender=buyer, content="hi", client_id="c1")
    services.message_post(order=order, sender=buyer, content="hi", client_id="c1")
    assert Notification.objects.filter(user=creator, kind="message").count() == 1


def test_nothing_is_recorded_for_a_muted_order(buyer, creator, order):
    notify_services.preference_update(user=creator, muted_order_ids=[order.pk])
    assert OrderMute.objects.filter(user=creator, order=order).exists()
    services.message_post(order=order, sender=buyer, content="hello?")
    pay(order)
    assert kinds_for(creator) == ["order_placed"]  # from before the mute


def test_dispute_events_tell_both_parties_and_the_desk_admin_who_opted_in(
    buyer, creator, admin_user, make_order
):
    NotificationPreference.objects.create(user=admin_user, desk_email=True)
    order = make_order("IN_PROGRESS")
    dispute = dispute_services.dispute_open(order=order, opened_by=buyer, reason=REASON)
    dispute_services.dispute_admin_joined(dispute=dispute, admin=admin_user)
    dispute_services.dispute_close(
        dispute=dispute, actor=admin_user, resolution="Agreed.", outcome="RESUME"
    )
    creator_kinds = [n.kind for n in Notification.objects.filter(user=creator, order=order)]
    assert "dispute_opened" in creator_kinds
    assert "dispute_admin_joined" in creator_kinds
    buyer_kinds = [n.kind for n in Notification.objects.filter(user=buyer, order=order)]
    assert "dispute_opened" not in buyer_kinds  # they opened it
    assert {"dispute_admin_joined", "dispute_closed"} <= set(buyer_kinds)
    closed = Notification.objects.get(user=buyer, kind="dispute_closed")
    assert closed.payload["outcome"] == "RESUME"
    assert kinds_for(admin_user) == ["dispute_opened"]


def test_a_settlement_by_dispute_tells_both_parties(buyer, creator, admin_user, make_order):
    order = make_order("IN_PROGRESS")
    dispute = dispute_services.dispute_open(order=order, opened_by=buyer, reason=REASON)
    dispute_services.dispute_close(
        dispute=dispute, actor=admin_user, resolution="Refund.", outcome="REFUND_BUYER"
    )
    for user in (buyer, creator):
        assert Notification.objects.filter(
            user=user, kind="order_moved", payload__to_status="CANCELLED"
        ).exists()


@pytest.mark.parametrize("in_transaction", [False, True])
def test_a_recording_failure_never_rolls_back_the_action(
    buyer, creator, order, monkeypatch, in_transaction
):
    def broken(*args, **kwargs):
        raise DatabaseError("outbox is broken")

    monkeypatch.setattr(recording, "_insert", broken)
    with transaction.atomic() if in_transaction else nullcontext():
        message, created = services.message_post(order=order, sender=buyer, content="still sent")
        services.order_move(order=order, actor=buyer, to_status="CANCELLED")
    assert created
    order.refresh_from_db()
    assert order.last_seq == message.seq + 1  # the message and the move both stand
    assert order.status == "CANCELLED"
    assert not Notification.objects.filter(kind="order_moved").exists()


def test_the_time_based_events_tell_the_buyer(buyer, creator, order):
    from orders import hooks

    hooks.event_happened(
        order=order, kind=hooks.EVENT_LATE, actor_id=None, data={"due_at": "2026-12-01T10:00:00Z"}
    )
    hooks.event_happened(
        order=order,
        kind=hooks.EVENT_AUTO_COMPLETE_SOON,
        actor_id=None,
        data={"auto_complete_at": "2026-12-03T10:00:00Z"},
    )
    hooks.event_happened(  # the same reminder again (a retried task): nothing new
        order=order, kind=hooks.EVENT_LATE, actor_id=None, data={"due_at": "2026-12-01T10:00:00Z"}
    )
    assert kinds_for(buyer) == ["order_late", "auto_complete_soon"]
    assert "order_late" not in kinds_for(creator)


@pytest.mark.services
def test_on_postgresql_a_message_and_its_notification_are_one_statement(
    buyer, creator, order, monkeypatch
):
    """The other party's row rides in the statement that stores the message
    (notify/message_rows.py): no statement of its own, which cost a round trip and a commit per
    message on the live rooms' hot path."""

    def second_statement(*args, **kwargs):
        raise AssertionError("a message's notification took a statement of its own")

    monkeypatch.setattr(recording, "_insert", second_statement)
    statements: list[str] = []
    prepared = services.fetch_prepared

    def counted(sql, params):
        statements.append(sql)
        return prepared(sql, params)

    monkeypatch.setattr(services, "fetch_prepared", counted)
    text = "one\ntwo"
    message, _ = services.message_post(order=order, sender=buyer, content=text, client_id="c1")
    services.message_post(order=order, sender=buyer, content=text, client_id="c1")  # a retry
    assert len(statements) == 2  # one per call, the retry's refused by the unique client_id
    row = Notification.objects.get(user=creator, kind="message")
    assert (row.key, row.seq, row.order_id) == (f"msg:{message.pk}", message.seq, order.pk)
    assert row.payload == {"sender": buyer.username, "excerpt": "one\ntwo"}
    assert not Notification.objects.filter(user=buyer, kind="message").exists()
