"""The live-event contract (echo_site/events.py): the AsyncAPI document served from it, the
validator every test's received frames go through, and the browser app's frame names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from chat.routing import websocket_urlpatterns
from echo_site import events
from tests.frame_contract import FrameContractError, check_frame

MESSAGE = {
    "id": 1,
    "order_id": 42,
    "seq": 5,
    "sender_id": 3,
    "sender_username": "buyer",
    "content": "hi",
    "sent_at": "2026-12-07T10:00:00.000000Z",
    "client_id": None,
    "attachments": [],
}


def test_declared_frames_pass() -> None:
    check_frame({"type": "message.new", "message": MESSAGE})
    check_frame({"type": "pong"})
    check_frame({"type": "pong", "last_seq": 3})
    check_frame({"type": "error", "code": "invalid", "message": "Bad.", "ref": None})
    check_frame({"type": "typing", "user_id": 3, "active": True})


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        ({"type": "message.newer", "message": MESSAGE}, "an undeclared type"),
        ({"type": "message.new"}, "a required field missing"),
        ({"type": "message.new", "message": MESSAGE, "extra": 1}, "an undeclared field"),
        ({"type": "typing", "user_id": "3", "active": True}, "a field of the wrong type"),
        ({"type": "message.new", "message": {**MESSAGE, "seq": None}}, "a resource field wrong"),
        ({"type": "presence", "user_id": 3, "online": True, "role": "owner"}, "not an enum"),
        (["type", "pong"], "not an object"),
    ],
)
def test_undeclared_frames_fail(frame: Any, why: str) -> None:
    with pytest.raises(FrameContractError):
        check_frame(frame)


async def sends_an_undeclared_frame(scope: Any, receive: Any, send: Any) -> None:
    """A bare ASGI websocket app (no database, no consumer machinery)."""
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": '{"type": "order.status", "order": {"id": 1}}'})
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def test_every_test_checks_the_frames_it_receives() -> None:
    """The suite-wide check (tests/conftest.py) is on: a test receiving a frame the contract
    does not describe fails."""
    communicator = WebsocketCommunicator(sends_an_undeclared_frame, "/ws/x/")
    connected, _ = await communicator.connect()
    assert connected
    with pytest.raises(FrameContractError, match="order.status"):
        await communicator.receive_json_from()
    await communicator.disconnect()


@pytest.mark.django_db
def test_the_asyncapi_document(client: Any) -> None:
    response = client.get("/api/asyncapi.json", HTTP_HOST="testserver")
    assert response.status_code == 200
    doc = response.json()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["servers"]["echo"] == {**doc["servers"]["echo"], "host": "testserver"}
    # One channel per websocket route, at the route's address.
    routes = {"/" + re.sub(r"<id64:(\w+)>", r"{\1}", str(p.pattern)) for p in websocket_urlpatterns}
    assert {c["address"] for c in doc["channels"].values()} == routes
    # Every reference resolves inside the document.
    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(doc)
    assert refs
    for ref in refs:
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
    # Both directions of every room are described.
    actions = {(op["channel"]["$ref"], op["action"]) for op in doc["operations"].values()}
    assert len(actions) == 2 * len(doc["channels"])


def test_the_api_docs_link_the_asyncapi_document(client: Any) -> None:
    schema = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/asyncapi.json" in schema["info"]["description"]


def test_the_browser_app_uses_only_declared_frame_names() -> None:
    declared = {
        name
        for room in events.ROOMS
        for frame in (*room.sends, *room.receives)
        for name in events.frame_names(frame)
    }
    static = Path(__file__).resolve().parents[2] / "frontend" / "static"
    used: set[str] = set()
    for script in static.rglob("*.js"):
        text = script.read_text()
        used |= set(re.findall(r'case "([a-z_]+(?:\.[a-z_]+)*)"', text))
        used |= set(re.findall(r'type === "([a-z_.]+)"', text))
        used |= set(re.findall(r'type: "([a-z_.]+)"', text)) - {"button", "submit"}
    assert len(used) > 10
    assert used - declared == set()


def test_every_payout_status_has_its_declared_event() -> None:
    from payments.live import PAYOUT_EVENTS
    from payments.models import PayoutStatus

    assert set(PAYOUT_EVENTS) == set(PayoutStatus)
    assert set(PAYOUT_EVENTS.values()) == set(events.frame_names(events.PayoutChange))
