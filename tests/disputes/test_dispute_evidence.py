"""Dispute messages carry evidence files (REST and websocket), shown to the dispute's parties
and admins, and downloadable only by them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from channels.db import database_sync_to_async

from orders.attachments.services import attachment_upload
from tests.chat.conftest import connect, receive_until
from tests.orders.files import pdf_bytes, png_bytes, upload


@pytest.mark.django_db
def test_evidence_in_a_dispute_message_over_rest(
    api: Any, open_dispute: Any, buyer: Any, admin_user: Any, outsider: Any
) -> None:
    dispute = open_dispute()
    up = api(buyer).post(
        f"/api/orders/{dispute.order_id}/attachments",
        {"file": upload("p.png", png_bytes())},
        format="multipart",
    )
    assert up.status_code == 201, up.content
    sent = api(buyer).post(
        f"/api/disputes/{dispute.pk}/messages",
        {"content": "Proof", "attachment_ids": [up.json()["id"]]},
    )
    assert sent.status_code == 201, sent.content
    assert [f["name"] for f in sent.json()["attachments"]] == ["p.png"]
    detail = api(admin_user).get(f"/api/disputes/{dispute.pk}").json()
    assert [f["id"] for m in detail["messages"] for f in m["attachments"]] == [up.json()["id"]]
    assert api(admin_user).get(f"/api/attachments/{up.json()['id']}/download").status_code == 302
    assert api(outsider).get(f"/api/attachments/{up.json()['id']}/download").status_code == 403


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_evidence_over_the_dispute_room(open_dispute: Any, buyer: Any, creator: Any) -> None:
    dispute = await database_sync_to_async(open_dispute)()
    file = await database_sync_to_async(attachment_upload)(
        order=dispute.order, uploader=creator, stream=io.BytesIO(pdf_bytes()), name="log.pdf"
    )
    c, _ = await connect(f"/ws/disputes/{dispute.pk}/", user=creator)
    b, _ = await connect(f"/ws/disputes/{dispute.pk}/", user=buyer)
    await c.send_json_to(
        {"type": "message.send", "content": "Log", "client_id": "e1", "attachment_ids": [file.pk]}
    )
    ack = await receive_until(c, "message.ack")
    assert [f["id"] for f in ack["message"]["attachments"]] == [file.pk]
    new = await receive_until(b, "message.new")
    assert new["message"]["attachments"] == ack["message"]["attachments"]
    await c.disconnect()
    await b.disconnect()
