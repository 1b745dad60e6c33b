"""A logout revokes the user's live credentials in the database (chat.CredentialRevocation):
every process's heartbeat and every handshake read it there, so it holds when the logout's
broadcast is lost (Redis down)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from chat import services
from chat.auth import Credential, credentials_still_valid
from tests.conftest import client_for

from .conftest import communicator, connect
from .test_handshake_auth import closed_with


def log_out(user: Any) -> None:
    response = client_for(user).post("/api/auth/logout", {})
    assert response.status_code == 204, response.content


@pytest.mark.django_db
def test_logout_revokes_credentials_obtained_before_it_in_one_query(buyer, creator):
    earlier = timezone.now() - timedelta(seconds=30)
    log_out(buyer)
    later = timezone.now() + timedelta(seconds=1)
    credentials = [
        Credential(method="jwt", user_id=buyer.pk, issued_at=earlier),
        Credential(method="session", user_id=buyer.pk, issued_at=earlier),
        Credential(method="jwt", user_id=buyer.pk, issued_at=later),  # a login after it
        Credential(method="jwt", user_id=creator.pk, issued_at=earlier),  # someone else
    ]
    with CaptureQueriesContext(connection) as queries:
        results = credentials_still_valid(credentials)
    assert results == [False, False, True, True]
    assert len([q for q in queries if "auth_user" in q["sql"]]) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_heartbeat_closes_the_socket_when_the_logout_broadcast_is_lost(
    buyer, creator, order, settings, monkeypatch
):
    settings.LIVE_HEARTBEAT_SECONDS = 0.3
    monkeypatch.setattr(services, "broadcast_on_commit", lambda **kwargs: None)  # Redis down
    buyer_socket, _ = await connect(f"/ws/orders/{order.pk}/", user=buyer)
    creator_socket, _ = await connect(f"/ws/orders/{order.pk}/", user=creator)
    await database_sync_to_async(log_out)(buyer)
    while True:  # presence and the like, then the close
        frame = await buyer_socket.receive_output(timeout=3)
        if frame["type"] == "websocket.close":
            break
    assert frame["code"] == 4401
    await creator_socket.send_json_to({"type": "ping"})
    while (frame := await creator_socket.receive_json_from(timeout=3))["type"] != "pong":
        assert frame["type"] in {"presence", "typing"}
    await creator_socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_token_obtained_before_the_logout_opens_no_socket_and_a_later_one_does(
    buyer, order
):
    before = str(AccessToken.for_user(buyer))
    await database_sync_to_async(log_out)(buyer)
    await closed_with(communicator(f"/ws/orders/{order.pk}/", token=before), 4401)
    await asyncio.sleep(1.1)  # a JWT's "iat" is in whole seconds
    after = str(AccessToken.for_user(buyer))
    socket, hello = await connect(f"/ws/orders/{order.pk}/", token=after)
    assert hello["you"]["user_id"] == buyer.pk
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_ticket_bought_with_a_token_from_before_the_logout_opens_no_socket(buyer, order):
    """The ticket is as old as the credential that bought it: a REST access token outlives the
    logout (it is not revoked for REST), but what it buys for the websocket is."""
    before = str(AccessToken.for_user(buyer))
    await database_sync_to_async(log_out)(buyer)

    def buy_ticket() -> str:
        client = client_for(None)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {before}")
        response = client.post("/api/ws-ticket", {})
        assert response.status_code == 200, response.content
        return str(response.json()["ticket"])

    ticket = await database_sync_to_async(buy_ticket)()
    await closed_with(communicator(f"/ws/orders/{order.pk}/?ticket={ticket}"), 4401)
