"""Through the real dispute room (/ws/disputes/{id}/): a party connected to it gets nothing about
the thread's messages until they leave; an admin who opened the room is told of later messages."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.core import mail

from disputes import services as dispute_services
from notify.models import Notification
from notify.sending import notify_send_due
from tests.chat.conftest import connect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

REASON = "The delivery is not what we agreed on."


@pytest.fixture
def dispute(make_order, buyer):
    found = dispute_services.dispute_open(
        order=make_order("IN_PROGRESS"), opened_by=buyer, reason=REASON
    )
    Notification.objects.all().delete()
    return found


@database_sync_to_async
def post(dispute, sender, content):
    dispute_services.dispute_message_post(dispute=dispute, sender=sender, content=content)


@database_sync_to_async
def send_due(now):
    notify_send_due(now=now)


def mails_to(user):
    return [m for m in mail.outbox if m.to == [f"{user.username} <{user.email}>"]]


async def test_connected_to_the_dispute_room_then_told_after_leaving(
    buyer, creator, dispute, later, settings
):
    settings.SITE_URL = "https://echo.example.com"
    room, _ = await connect(f"/ws/disputes/{dispute.pk}/", user=creator)
    await post(dispute, buyer, "Are you reading this?")
    await send_due(later(60))
    assert mails_to(creator) == []
    await room.disconnect()
    await send_due(later(60))
    (sent,) = mails_to(creator)
    assert "buyer: Are you reading this?" in sent.body
    assert f"https://echo.example.com/disputes/{dispute.pk}/" in sent.body


async def test_an_admin_who_opened_the_room_hears_of_later_messages(
    buyer, creator, admin_user, dispute, later
):
    room, hello = await connect(f"/ws/disputes/{dispute.pk}/", user=admin_user)
    assert hello["you"]["role"] == "admin"
    await room.disconnect()
    await post(dispute, creator, "For the mediator: the brief is attached.")
    await send_due(later(60))
    (sent,) = mails_to(admin_user)
    assert "creator: For the mediator" in sent.body
