"""Messages in a dispute's thread reach its participants who are not looking, like order messages:
both parties and the admins who joined; merged into the digest with a link to the dispute page;
nothing for what they read, while they are in the dispute's room, from a dispute they can no
longer see, or on a muted order (muting the order mutes its dispute)."""

from __future__ import annotations

import pytest
from django.core import mail

from disputes import services as dispute_services
from notify.models import Notification, NotificationPreference, OrderMute
from notify.sending import notify_send_due
from orders import services

from .conftest import rows_for

pytestmark = pytest.mark.django_db

REASON = "The delivery is not what we agreed on."


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://echo.example.com"


@pytest.fixture
def dispute(make_order, buyer):
    found = dispute_services.dispute_open(
        order=make_order("IN_PROGRESS"), opened_by=buyer, reason=REASON
    )
    Notification.objects.all().delete()  # only the thread's messages here
    return found


def post(dispute, sender, content):
    message, _ = dispute_services.dispute_message_post(
        dispute=dispute, sender=sender, content=content
    )
    return message


def mails_to(user):
    return [m for m in mail.outbox if m.to == [f"{user.username} <{user.email}>"]]


def test_a_message_is_recorded_for_the_other_party_and_the_admins_who_joined(
    buyer, creator, admin_user, outsider, dispute
):
    outsider.is_staff = True  # an admin who never joined this dispute
    outsider.save()
    dispute_services.dispute_admin_joined(dispute=dispute, admin=admin_user)
    Notification.objects.all().delete()
    message = post(dispute, buyer, "I asked for a logo\nnot a banner\nsee the brief\nline four")
    (row,) = rows_for(creator)
    assert row.kind == "dispute_message"
    assert row.dispute_id == dispute.pk and row.order_id == dispute.order_id
    assert row.seq == message.seq
    assert row.payload == {
        "sender": "buyer",
        "excerpt": "I asked for a logo\nnot a banner\nsee the brief\n…",
        "dispute_id": dispute.pk,
    }
    assert [r.kind for r in rows_for(admin_user)] == ["dispute_message"]
    assert rows_for(outsider) == []
    assert rows_for(buyer) == []  # the sender


def test_an_admin_message_tells_both_parties(buyer, creator, admin_user, dispute):
    post(dispute, admin_user, "Please both send me the brief.")
    for party in (buyer, creator):
        said = [r.payload for r in rows_for(party) if r.kind == "dispute_message"]
        assert [p["excerpt"] for p in said] == ["Please both send me the brief."]
    assert rows_for(admin_user) == []


def test_an_admin_who_posted_hears_of_the_answers(buyer, creator, admin_user, dispute):
    post(dispute, admin_user, "Please both send me the brief.")
    post(dispute, creator, "Here it is.")
    assert [r.payload["sender"] for r in rows_for(admin_user)] == ["creator"]


def test_unread_dispute_messages_go_in_the_digest_with_the_dispute_link(
    buyer, creator, dispute, make_order, later
):
    other = make_order()
    Notification.objects.all().delete()
    post(dispute, buyer, "Where is the revision?")
    services.message_post(order=other, sender=buyer, content="And about this order")
    notify_send_due(now=later(9))
    assert mail.outbox == []  # the digest delay holds dispute messages too
    notify_send_due(now=later(10))
    (sent,) = mails_to(creator)
    html = sent.alternatives[0][0]
    link = f"https://echo.example.com/disputes/{dispute.pk}/"
    assert f"Dispute #{dispute.pk} on {dispute.order.item_title}" in sent.body
    assert "buyer: Where is the revision?" in sent.body
    assert f"Open the dispute: {link}" in sent.body and f'href="{link}"' in html
    assert f"https://echo.example.com/orders/{other.pk}/" in sent.body  # merged: one digest
    notify_send_due(now=later(60))
    assert len(mails_to(creator)) == 1


def test_what_was_read_in_the_dispute_thread_is_not_sent(buyer, creator, dispute, later):
    message = post(dispute, buyer, "read me")
    dispute_services.dispute_read_mark(dispute=dispute, user=creator, seq=message.seq)
    notify_send_due(now=later(60))
    assert mail.outbox == []
    assert not Notification.objects.filter(user=creator, done_at__isnull=True).exists()


def test_an_order_read_mark_does_not_count_for_the_dispute_thread(buyer, creator, dispute, later):
    message = post(dispute, buyer, "the thread's own seq")
    services.read_mark(order=dispute.order, user=creator, seq=dispute.order.last_seq)
    assert dispute.order.last_seq >= message.seq  # the order's seq would have hidden it
    notify_send_due(now=later(10))
    assert len(mails_to(creator)) == 1


def test_nothing_while_connected_to_the_dispute_room(
    buyer, creator, dispute, later, on_dispute, on_order
):
    leave = on_dispute(creator, dispute)
    post(dispute, buyer, "while you are here")
    notify_send_due(now=later(60))
    assert mail.outbox == []
    assert Notification.objects.filter(user=creator, done_at__isnull=True).count() == 1
    leave()
    notify_send_due(now=later(60))
    assert len(mails_to(creator)) == 1


def test_the_order_room_does_not_hold_back_a_dispute_message(
    buyer, creator, dispute, later, on_order
):
    on_order(creator, dispute.order)  # the order's page, not the dispute's
    post(dispute, buyer, "on the dispute page")
    notify_send_due(now=later(10))
    assert len(mails_to(creator)) == 1


def test_nothing_from_a_dispute_the_admin_can_no_longer_see(
    buyer, creator, admin_user, dispute, later
):
    dispute_services.dispute_admin_joined(dispute=dispute, admin=admin_user)
    Notification.objects.all().delete()
    post(dispute, buyer, "for the mediator")
    admin_user.is_staff = False
    admin_user.save()
    notify_send_due(now=later(60))
    assert mails_to(admin_user) == []
    assert Notification.objects.get(user=admin_user).done_at is not None
    post(dispute, creator, "no longer an admin: no longer told")
    assert Notification.objects.filter(user=admin_user).count() == 1


def test_the_admin_who_joined_gets_the_digest(buyer, creator, admin_user, dispute, later):
    dispute_services.dispute_admin_joined(dispute=dispute, admin=admin_user)
    Notification.objects.all().delete()
    post(dispute, buyer, "for the mediator")
    notify_send_due(now=later(10))
    (sent,) = mails_to(admin_user)
    assert "buyer: for the mediator" in sent.body
    assert f"https://echo.example.com/disputes/{dispute.pk}/" in sent.body


def test_muting_the_order_mutes_its_dispute(buyer, creator, dispute, later):
    post(dispute, buyer, "recorded before the mute")
    OrderMute.objects.create(user=creator, order=dispute.order)
    post(dispute, buyer, "after the mute")
    assert len(rows_for(creator)) == 1  # nothing recorded once muted
    notify_send_due(now=later(60))
    assert mail.outbox == []  # and what was recorded before is not sent
    assert Notification.objects.get(user=creator).done_at is not None


def test_email_off_sends_no_dispute_message(buyer, creator, dispute, later):
    NotificationPreference.objects.create(user=creator, email_enabled=False)
    post(dispute, buyer, "hello")
    notify_send_due(now=later(60))
    assert mail.outbox == []
