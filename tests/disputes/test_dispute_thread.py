"""The dispute thread over REST: posting, admin review, idempotency, reading."""

from __future__ import annotations

import pytest

from disputes.models import DisputeMessage

pytestmark = pytest.mark.django_db


def test_parties_post_and_an_admin_post_starts_the_review(
    api, open_dispute, buyer, creator, admin_user
):
    dispute = open_dispute()
    url = f"/api/disputes/{dispute.pk}/messages"
    first = api(buyer).post(url, {"content": "It is late."})
    assert first.status_code == 201
    assert (first.json()["seq"], first.json()["from_admin"]) == (1, False)
    # ECHO's clients send {"message"}.
    second = api(creator).post(url, {"message": "It is on its way."})
    assert (second.status_code, second.json()["content"]) == (201, "It is on its way.")
    assert api(buyer).get(f"/api/disputes/{dispute.pk}").json()["status"] == "OPEN"
    third = api(admin_user).post(url, {"content": "I am looking into it."})
    assert third.status_code == 201
    assert (third.json()["seq"], third.json()["from_admin"]) == (3, True)
    detail = api(buyer).get(f"/api/disputes/{dispute.pk}").json()
    assert detail["status"] == "UNDER_REVIEW"
    assert [m["seq"] for m in detail["messages"]] == [1, 2, 3]
    assert [m["from_admin"] for m in detail["messages"]] == [False, False, True]


def test_a_repeated_client_id_returns_the_first_message(api, open_dispute, buyer):
    dispute = open_dispute()
    url = f"/api/disputes/{dispute.pk}/messages"
    first = api(buyer).post(url, {"content": "once", "client_id": "k1"})
    again = api(buyer).post(url, {"content": "once", "client_id": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert DisputeMessage.objects.count() == 1


@pytest.mark.parametrize("content", ["", "   ", "x" * 5001])
def test_content_must_be_1_to_5000_characters(api, open_dispute, buyer, content):
    dispute = open_dispute()
    response = api(buyer).post(f"/api/disputes/{dispute.pk}/messages", {"content": content})
    assert response.status_code == 400
    assert "content" in response.json()["fields"]


def test_outsiders_get_403_and_unknown_disputes_404(api, open_dispute, outsider):
    dispute = open_dispute()
    assert (
        api(outsider).post(f"/api/disputes/{dispute.pk}/messages", {"content": "hi"}).status_code
        == 403
    )
    assert api(outsider).get(f"/api/disputes/{dispute.pk}").status_code == 403
    assert api(outsider).get("/api/disputes/9999").status_code == 404


def test_no_messages_on_a_closed_dispute(api, open_dispute, buyer, admin_user):
    dispute = open_dispute()
    closed = api(admin_user).patch(
        f"/api/disputes/{dispute.pk}/close", {"resolution": "Carry on.", "outcome": "RESUME"}
    )
    assert closed.status_code == 200
    response = api(buyer).post(f"/api/disputes/{dispute.pk}/messages", {"content": "but..."})
    assert response.status_code == 409
    assert response.json()["code"] == "dispute_closed"


def test_lists_for_parties_and_admins(
    api, open_dispute, make_order, buyer, creator, outsider, admin_user
):
    first = open_dispute("IN_PROGRESS")
    second = open_dispute("DELIVERED")
    api(admin_user).patch(
        f"/api/disputes/{second.pk}/close", {"resolution": "Resolved.", "outcome": "RESUME"}
    )

    def ids(response):
        assert response.status_code == 200, response.content
        return [d["id"] for d in response.json()["results"]]

    assert ids(api(buyer).get("/api/disputes")) == [second.pk, first.pk]
    assert ids(api(creator).get("/api/disputes?status=OPEN")) == [first.pk]
    assert ids(api(outsider).get("/api/disputes")) == []
    assert ids(api(admin_user).get("/api/disputes?status=CLOSED")) == [second.pk]
    assert ids(api(buyer).get("/api/disputes/user/my-disputes")) == [second.pk, first.pk]
    assert ids(api(admin_user).get("/api/disputes/user/my-disputes")) == []
    assert ids(api(admin_user).get("/api/disputes/open")) == [first.pk]
    assert api(buyer).get("/api/disputes/open").status_code == 403
    by_order = api(creator).get(f"/api/disputes/order/{first.order_id}")
    assert [d["id"] for d in by_order.json()] == [first.pk]
    assert api(outsider).get(f"/api/disputes/order/{first.order_id}").status_code == 403
    assert api(buyer).get("/api/disputes?status=NOPE").status_code == 400


def test_detail_carries_read_marks(api, open_dispute, buyer, creator):
    from disputes import services

    dispute = open_dispute()
    services.dispute_message_post(dispute=dispute, sender=buyer, content="one")
    services.dispute_message_post(dispute=dispute, sender=buyer, content="two")
    services.dispute_read_mark(dispute=dispute, user=creator, seq=1)
    marks = api(creator).get(f"/api/disputes/{dispute.pk}").json()["read_marks"]
    assert marks == {str(buyer.pk): 2, str(creator.pk): 1}
