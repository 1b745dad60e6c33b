"""Deliveries: the creator's files and message move the order to DELIVERED in one transaction;
the buyer accepts or asks for a counted revision; the creator may grant more rounds."""

from __future__ import annotations

from typing import Any

import pytest

from orders import deliveries, services
from orders.models import Attachment, Delivery, Order, OrderEvent

from .files import pdf_bytes, png_bytes, upload

pytestmark = pytest.mark.django_db


def deliver(
    api: Any, creator: Any, order: Any, message: str = "Here it is.", files: Any = ()
) -> Any:
    return api(creator).post(
        f"/api/orders/{order.pk}/deliveries",
        {"message": message, "files": list(files)},
        format="multipart",
    )


def test_creator_delivers_files_and_the_order_is_delivered(
    api: Any, make_order: Any, creator: Any, buyer: Any
) -> None:
    order = make_order("IN_PROGRESS")
    before = order.last_seq
    response = deliver(
        api,
        creator,
        order,
        files=[upload("logo.png", png_bytes()), upload("brief.pdf", pdf_bytes())],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["seq"] == before + 1
    assert body["revision"] == 0
    assert [(f["name"], f["content_type"]) for f in body["attachments"]] == [
        ("logo.png", "image/png"),
        ("brief.pdf", "application/pdf"),
    ]
    order.refresh_from_db()
    assert order.status == "DELIVERED"
    # The delivery took a seq and the move the next one: one timeline, no gap.
    assert order.last_seq == before + 2
    assert OrderEvent.objects.get(order=order, seq=before + 2).to_status == "DELIVERED"
    assert Attachment.objects.filter(delivery_id=body["id"]).count() == 2


def test_delivering_by_json_with_uploaded_ids(api: Any, make_order: Any, creator: Any) -> None:
    order = make_order("IN_PROGRESS")
    up = api(creator).post(
        f"/api/orders/{order.pk}/attachments",
        {"file": upload("a.pdf", pdf_bytes())},
        format="multipart",
    )
    assert up.status_code == 201, up.content
    response = api(creator).post(
        f"/api/orders/{order.pk}/deliveries",
        {"message": "Done", "attachment_ids": [up.json()["id"]]},
    )
    assert response.status_code == 201, response.content
    assert [f["id"] for f in response.json()["attachments"]] == [up.json()["id"]]


@pytest.mark.parametrize(
    ("who", "status", "code", "error"),
    [
        ("buyer", "IN_PROGRESS", 403, "wrong_role"),
        ("outsider", "IN_PROGRESS", 403, "not_a_party"),
        ("creator", "PENDING", 409, "invalid_transition"),
        ("creator", "DELIVERED", 409, "invalid_transition"),
    ],
)
def test_only_the_creator_delivers_and_only_while_in_progress(
    api: Any, make_order: Any, request: Any, who: str, status: str, code: int, error: str
) -> None:
    order = make_order(status)
    user = request.getfixturevalue(who)
    response = api(user).post(f"/api/orders/{order.pk}/deliveries", {"message": "x"})
    if who == "outsider":
        assert response.status_code == 403
        return
    assert (response.status_code, response.json()["code"]) == (code, error)
    assert not Delivery.objects.filter(order=order).exists()
    assert Order.objects.get(pk=order.pk).status == status


@pytest.mark.parametrize("message", ["", "   ", "x" * 5001])
def test_the_message_is_1_to_5000_characters(
    api: Any, make_order: Any, creator: Any, message: str
) -> None:
    order = make_order("IN_PROGRESS")
    response = api(creator).post(f"/api/orders/{order.pk}/deliveries", {"message": message})
    assert response.status_code == 400
    assert "message" in response.json()["fields"]
    assert Order.objects.get(pk=order.pk).status == "IN_PROGRESS"


def test_more_than_ten_files_is_400_and_nothing_moves(
    api: Any, make_order: Any, creator: Any
) -> None:
    order = make_order("IN_PROGRESS")
    files = [upload(f"f{i}.pdf", pdf_bytes(str(i))) for i in range(11)]
    response = deliver(api, creator, order, files=files)
    assert response.status_code == 400
    assert Order.objects.get(pk=order.pk).status == "IN_PROGRESS"
    assert not Attachment.objects.filter(order=order).exists()


def test_deliveries_are_listed_newest_first_with_revision_numbers(
    api: Any, make_order: Any, creator: Any, buyer: Any
) -> None:
    order = make_order("IN_PROGRESS")
    first = deliver(api, creator, order, "First").json()
    revision = api(buyer).post(
        f"/api/orders/{order.pk}/deliveries/{first['id']}/revision", {"reason": "Bigger logo"}
    )
    assert revision.status_code == 200, revision.content
    assert revision.json()["status"] == "IN_PROGRESS"
    second = deliver(api, creator, order, "Second").json()
    listed = api(buyer).get(f"/api/orders/{order.pk}/deliveries").json()
    assert [d["id"] for d in listed] == [second["id"], first["id"]]
    assert [d["revision"] for d in listed] == [1, 0]
    assert listed[1]["decision"] == "revision_requested"
    assert listed[1]["decision_note"] == "Bigger logo"


def test_buyer_accepts_the_latest_delivery(
    api: Any, make_order: Any, creator: Any, buyer: Any
) -> None:
    order = make_order("IN_PROGRESS")
    delivery = deliver(api, creator, order).json()
    response = api(buyer).post(f"/api/orders/{order.pk}/deliveries/{delivery['id']}/accept")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "COMPLETED"
    assert Delivery.objects.get(pk=delivery["id"]).decision == "accepted"


def test_creator_cannot_accept_their_own_delivery(api: Any, make_order: Any, creator: Any) -> None:
    order = make_order("IN_PROGRESS")
    delivery = deliver(api, creator, order).json()
    response = api(creator).post(f"/api/orders/{order.pk}/deliveries/{delivery['id']}/accept")
    assert (response.status_code, response.json()["code"]) == (403, "wrong_role")


def test_a_revision_request_needs_a_reason(
    api: Any, make_order: Any, creator: Any, buyer: Any
) -> None:
    order = make_order("IN_PROGRESS")
    delivery = deliver(api, creator, order).json()
    response = api(buyer).post(
        f"/api/orders/{order.pk}/deliveries/{delivery['id']}/revision", {"reason": "  "}
    )
    assert response.status_code == 400
    assert Order.objects.get(pk=order.pk).status == "DELIVERED"


def _limited_order(make_order: Any, included: int) -> Any:
    order = make_order("IN_PROGRESS")
    Order.objects.filter(pk=order.pk).update(revisions_included=included)
    order.refresh_from_db()
    return order


def test_revisions_beyond_those_included_are_409_until_the_creator_grants_more(
    api: Any, make_order: Any, creator: Any, buyer: Any
) -> None:
    order = _limited_order(make_order, 1)
    first = deliver(api, creator, order).json()
    assert (
        api(buyer)
        .post(f"/api/orders/{order.pk}/deliveries/{first['id']}/revision", {"reason": "Again"})
        .status_code
        == 200
    )
    second = deliver(api, creator, order).json()
    assert second["revisions_allowed"] == 1 and second["revision"] == 1
    refused = api(buyer).post(
        f"/api/orders/{order.pk}/deliveries/{second['id']}/revision", {"reason": "Once more"}
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "revisions_exhausted")
    assert Order.objects.get(pk=order.pk).status == "DELIVERED"

    # The status endpoint counts the same rounds.
    legacy = api(buyer).patch(f"/api/orders/{order.pk}/status", {"status": "IN_PROGRESS"})
    assert (legacy.status_code, legacy.json()["code"]) == (409, "revisions_exhausted")

    # Only the creator grants; the grant is on the timeline.
    assert (
        api(buyer).post(f"/api/orders/{order.pk}/revisions/grant", {"count": 1}).status_code == 403
    )
    granted = api(creator).post(
        f"/api/orders/{order.pk}/revisions/grant", {"count": 1, "note": "Sure"}
    )
    assert granted.status_code == 201, granted.content
    assert granted.json()["kind"] == "revisions_granted"
    events = api(buyer).get(f"/api/orders/{order.pk}/events").json()["results"]
    assert events[-1]["kind"] == "revisions_granted"
    assert events[-1]["seq"] == Order.objects.get(pk=order.pk).last_seq

    accepted = api(buyer).post(
        f"/api/orders/{order.pk}/deliveries/{second['id']}/revision", {"reason": "Once more"}
    )
    assert accepted.status_code == 200, accepted.content
    order.refresh_from_db()
    assert (order.revisions_used, order.revisions_granted) == (2, 1)


def test_zero_included_revisions_refuse_the_first_request(
    make_order: Any, creator: Any, buyer: Any
) -> None:
    order = _limited_order(make_order, 0)
    delivery = deliveries.delivery_submit(order=order, creator=creator, message="Done")
    with pytest.raises(Exception, match="revision round") as info:
        deliveries.delivery_request_revision(
            order=order, buyer=buyer, delivery_id=delivery.pk, reason="No"
        )
    assert getattr(info.value, "code", None) == "revisions_exhausted"


def test_unlimited_revisions_never_run_out(make_order: Any, creator: Any, buyer: Any) -> None:
    order = make_order("IN_PROGRESS")
    assert order.revisions_included is None
    for _ in range(25):
        delivery = deliveries.delivery_submit(order=order, creator=creator, message="v")
        deliveries.delivery_request_revision(
            order=order, buyer=buyer, delivery_id=delivery.pk, reason="more"
        )
    assert Order.objects.get(pk=order.pk).revisions_used == 25


def test_only_the_latest_delivery_is_answered(
    api: Any, make_order: Any, creator: Any, buyer: Any
) -> None:
    order = make_order("IN_PROGRESS")
    first = deliver(api, creator, order).json()
    api(buyer).post(f"/api/orders/{order.pk}/deliveries/{first['id']}/revision", {"reason": "r"})
    deliver(api, creator, order)
    stale = api(buyer).post(f"/api/orders/{order.pk}/deliveries/{first['id']}/accept")
    assert stale.status_code == 409
    assert Order.objects.get(pk=order.pk).status == "DELIVERED"


def test_the_status_endpoint_still_delivers_without_files(
    api: Any, make_order: Any, creator: Any
) -> None:
    order = make_order("IN_PROGRESS")
    response = api(creator).patch(f"/api/orders/{order.pk}/status", {"status": "DELIVERED"})
    assert response.status_code == 200
    assert response.json()["status"] == "DELIVERED"
    assert not Delivery.objects.filter(order=order).exists()


def test_a_refused_move_rolls_the_delivery_back(
    make_order: Any, creator: Any, monkeypatch: Any
) -> None:
    order = make_order("IN_PROGRESS")
    seq = order.last_seq

    def refuse(**kwargs: Any) -> None:
        raise RuntimeError("guard")

    monkeypatch.setattr("orders.hooks.move_guards", [refuse])
    with pytest.raises(RuntimeError):
        deliveries.delivery_submit(order=order, creator=creator, message="Done")
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.last_seq) == ("IN_PROGRESS", seq)
    assert not Delivery.objects.filter(order=order).exists()


def test_services_reexported_move_still_records_the_decision(
    make_order: Any, creator: Any, buyer: Any
) -> None:
    order = make_order("IN_PROGRESS")
    delivery = deliveries.delivery_submit(order=order, creator=creator, message="Done")
    services.order_move(order=order, actor=buyer, to_status="COMPLETED")
    assert Delivery.objects.get(pk=delivery.pk).decision == "accepted"


def test_an_admin_may_reopen_a_delivery_past_the_rounds(
    make_order: Any, creator: Any, buyer: Any, admin_user: Any
) -> None:
    order = _limited_order(make_order, 0)
    deliveries.delivery_submit(order=order, creator=creator, message="Done")
    services.order_move(order=order, actor=admin_user, to_status="IN_PROGRESS", note="Mediation")
    assert Order.objects.get(pk=order.pk).status == "IN_PROGRESS"
