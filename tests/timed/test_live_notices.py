"""What the rules do reaches both parties live, once: the late notice and the system's moves in
the order room (and on replay), the dispute SLA flag on the mediation desk."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from channels.db import database_sync_to_async
from django.utils import timezone

from disputes import services as dispute_services
from disputes import timed as dispute_timed
from orders import timed
from orders.models import Order
from tests.chat.conftest import connect, drain, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_the_late_notice_reaches_both_parties_once_and_replays_as_the_same_frame(
    make_order, buyer, creator, settings
):
    # Due at once (the clock is not moved here: it would expire the sockets' credentials; the
    # rules' timing is tests/timed/test_order_rules.py's).
    order = await database_sync_to_async(make_order)("IN_PROGRESS")
    await database_sync_to_async(Order.objects.filter(pk=order.pk).update)(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    c, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    assert await database_sync_to_async(timed.order_mark_late)(order_id=order.pk)
    assert not await database_sync_to_async(timed.order_mark_late)(order_id=order.pk)
    for comm in (b, c):
        frame = await receive_until(comm, "order.late")
        assert frame["event"]["kind"] == "late"
        assert frame["event"]["actor_kind"] == "system"
        assert frame["order"]["deadline"]["kind"] == "late_since"
        assert not [f for f in await drain(comm) if f["type"] == "order.late"]
    # A client resuming from before it gets the same frame from the database.
    r, hello = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    await r.send_json_to({"type": "sync", "after_seq": hello["last_seq"] - 1})
    replayed = await receive_until(r, "order.late")
    assert replayed["event"]["seq"] == hello["last_seq"]
    for comm in (b, c, r):
        await comm.disconnect()


async def test_the_auto_complete_is_a_status_move_by_the_system(make_order, buyer, settings):
    settings.AUTO_COMPLETE_DAYS = 0
    order = await database_sync_to_async(make_order)("DELIVERED")
    b, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    assert await database_sync_to_async(timed.order_auto_complete)(order_id=order.pk)
    frame = await receive_until(b, "order.status")
    assert frame["order"]["status"] == "COMPLETED"
    assert (frame["event"]["actor_kind"], frame["event"]["actor_id"]) == ("system", None)
    await b.disconnect()


async def test_a_dispute_waiting_for_an_admin_is_flagged_on_the_desk_once(
    make_order, buyer, admin_user, settings
):
    settings.DISPUTE_ADMIN_SLA_HOURS = 24
    order = await database_sync_to_async(make_order)("IN_PROGRESS")
    dispute = await database_sync_to_async(dispute_services.dispute_open)(
        order=order, opened_by=buyer, reason="The work is not what we agreed."
    )
    assert not await database_sync_to_async(dispute_timed.dispute_flag_sla)(dispute_id=dispute.pk)
    later = timezone.now() + timedelta(hours=24, minutes=1)
    with time_machine.travel(later, tick=False):
        due = await database_sync_to_async(dispute_timed.disputes_due_sla)()
    assert due == [dispute.pk]
    settings.DISPUTE_ADMIN_SLA_HOURS = 0  # now due without moving the sockets' clock
    desk, _ = await connect("/ws/admin/disputes/", user=admin_user)
    assert await database_sync_to_async(dispute_timed.dispute_flag_sla)(dispute_id=dispute.pk)
    assert not await database_sync_to_async(dispute_timed.dispute_flag_sla)(dispute_id=dispute.pk)
    flagged = await receive_until(desk, "dispute.updated")
    assert flagged["dispute"]["sla_flagged_at"] is not None
    assert not [f for f in await drain(desk) if f["type"] == "dispute.updated"]
    await desk.disconnect()
