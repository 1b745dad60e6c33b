"""Order messages: one gap-free timeline with the moves, paging, idempotent sends, who may post."""

from __future__ import annotations

import pytest

from orders.models import Message, OrderEvent

pytestmark = pytest.mark.django_db


def post(api, user, order, content, **extra):
    return api(user).post(
        f"/api/orders/{order.pk}/messages", {"content": content, **extra}, format="json"
    )


def move(api, user, order, to):
    response = api(user).patch(f"/api/orders/{order.pk}/status", {"status": to}, format="json")
    assert response.status_code == 200, response.content


def test_message_record_has_the_documented_fields(api, order, buyer):
    response = post(api, buyer, order, "Hello there", client_id="c-1")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["order_id"] == order.pk
    assert body["sender_id"] == buyer.pk
    assert body["sender_username"] == buyer.username
    assert body["content"] == "Hello there"
    assert body["client_id"] == "c-1"
    assert body["seq"] == 2  # the placement is seq 1
    assert body["sent_at"]
    assert Message.objects.get(pk=body["id"]).content == "Hello there"


def test_messages_and_moves_share_one_gap_free_sequence(api, paid_order, buyer, creator):
    order = paid_order
    seqs = [post(api, buyer, order, "first").json()["seq"]]
    move(api, creator, order, "IN_PROGRESS")
    seqs.append(post(api, creator, order, "second").json()["seq"])
    seqs.append(post(api, buyer, order, "third").json()["seq"])
    move(api, creator, order, "DELIVERED")
    seqs.append(post(api, buyer, order, "fourth").json()["seq"])

    assert seqs == [2, 4, 5, 7]
    event_seqs = list(OrderEvent.objects.filter(order=order).values_list("seq", flat=True))
    assert event_seqs == [1, 3, 6]
    assert sorted(seqs + event_seqs) == list(range(1, 8))
    page = api(buyer).get(f"/api/orders/{order.pk}/messages").json()
    assert page["last_seq"] == 7
    assert [m["seq"] for m in page["results"]] == seqs


@pytest.fixture
def ten_messages(order, buyer, creator):
    from orders import services

    for n in range(10):
        services.message_post(order=order, sender=buyer if n % 2 else creator, content=f"m{n}")
    return order  # seqs 2..11


def test_messages_page_oldest_first_after_a_seq(api, ten_messages, buyer):
    response = api(buyer).get(f"/api/orders/{ten_messages.pk}/messages?after=4&limit=3")
    assert response.status_code == 200
    body = response.json()
    assert [m["seq"] for m in body["results"]] == [5, 6, 7]
    assert body["has_more"] is True
    tail = api(buyer).get(f"/api/orders/{ten_messages.pk}/messages?after=9&limit=3").json()
    assert [m["seq"] for m in tail["results"]] == [10, 11]
    assert tail["has_more"] is False


def test_messages_page_backwards_before_a_seq(api, ten_messages, buyer):
    body = api(buyer).get(f"/api/orders/{ten_messages.pk}/messages?before=8&limit=3").json()
    assert [m["seq"] for m in body["results"]] == [5, 6, 7]
    assert body["has_more"] is True


def test_default_page_is_everything_oldest_first(api, ten_messages, creator):
    body = api(creator).get(f"/api/orders/{ten_messages.pk}/messages").json()
    assert [m["content"] for m in body["results"]] == [f"m{n}" for n in range(10)]


@pytest.mark.parametrize("limit", [1, 200])
def test_limit_bounds_are_accepted(api, ten_messages, buyer, limit):
    response = api(buyer).get(f"/api/orders/{ten_messages.pk}/messages?limit={limit}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(limit, 10)


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "after=-1", "after=x", "before=0"])
def test_bad_paging_is_400(api, order, buyer, query):
    response = api(buyer).get(f"/api/orders/{order.pk}/messages?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_repeated_client_id_returns_the_first_message_and_stores_nothing(api, order, buyer):
    first = post(api, buyer, order, "once", client_id="abc-123")
    again = post(api, buyer, order, "twice?", client_id="abc-123")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert Message.objects.filter(order=order).count() == 1
    order.refresh_from_db()
    assert order.last_seq == 2


def test_same_client_id_from_the_other_party_is_a_new_message(api, order, buyer, creator):
    assert post(api, buyer, order, "a", client_id="same").status_code == 201
    assert post(api, creator, order, "b", client_id="same").status_code == 201
    assert Message.objects.filter(order=order).count() == 2


def test_client_id_uniqueness_is_a_database_constraint(order, buyer):
    from django.db import IntegrityError, transaction

    Message.objects.create(order=order, seq=10, sender=buyer, content="a", client_id="k")
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(order=order, seq=11, sender=buyer, content="b", client_id="k")


def test_content_is_trimmed(api, order, buyer):
    body = post(api, buyer, order, "  \n hi there \t ").json()
    assert body["content"] == "hi there"
    assert Message.objects.get().content == "hi there"


@pytest.mark.parametrize("content", ["x", "x" * 5000, "  " + "x" * 5000 + "  "])
def test_content_of_1_to_5000_characters_is_accepted(api, order, buyer, content):
    response = post(api, buyer, order, content)
    assert response.status_code == 201
    assert response.json()["content"] == content.strip()


@pytest.mark.parametrize("content", ["", "   \n\t ", "x" * 5001, None, {"a": 1}])
def test_bad_content_is_400(api, order, buyer, content):
    response = post(api, buyer, order, content)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert "content" in response.json()["fields"]
    assert not Message.objects.exists()


def test_client_id_longer_than_64_characters_is_400(api, order, buyer):
    response = post(api, buyer, order, "hi", client_id="x" * 65)
    assert response.status_code == 400
    assert "client_id" in response.json()["fields"]


@pytest.mark.parametrize("status", ["PENDING", "IN_PROGRESS", "DELIVERED"])
def test_active_orders_take_messages(api, make_order, buyer, creator, status):
    order = make_order(status)
    assert post(api, buyer, order, "from buyer").status_code == 201
    assert post(api, creator, order, "from creator").status_code == 201


@pytest.mark.parametrize("status", ["COMPLETED", "CANCELLED"])
def test_closed_orders_refuse_messages_with_409(api, make_order, buyer, creator, status):
    order = make_order(status)
    for user in (buyer, creator):
        response = post(api, user, order, "too late")
        assert response.status_code == 409
        assert response.json()["code"] == "order_closed"
    assert not Message.objects.filter(order=order).exists()


def test_outsider_can_neither_read_nor_post(api, order, outsider):
    assert post(api, outsider, order, "hi").status_code == 403
    assert api(outsider).get(f"/api/orders/{order.pk}/messages").status_code == 403
    assert not Message.objects.exists()


def test_admin_reads_but_cannot_post(api, order, buyer, admin_user):
    post(api, buyer, order, "hello")
    read = api(admin_user).get(f"/api/orders/{order.pk}/messages")
    assert read.status_code == 200
    assert [m["content"] for m in read.json()["results"]] == ["hello"]

    response = post(api, admin_user, order, "admin speaking")
    assert response.status_code == 403
    assert response.json()["code"] == "not_a_party"
    assert Message.objects.count() == 1


def test_anonymous_gets_401(api, order):
    assert post(api, None, order, "hi").status_code == 401
    assert api(None).get(f"/api/orders/{order.pk}/messages").status_code == 401


def test_messages_on_unknown_order_are_404(api, buyer):
    response = api(buyer).post("/api/orders/5555/messages", {"content": "hi"}, format="json")
    assert response.status_code == 404
    assert api(buyer).get("/api/orders/5555/messages").status_code == 404


def test_post_order_messages_with_order_id(api, order, buyer):
    response = api(buyer).post(
        "/api/order-messages", {"order_id": order.pk, "content": "via ECHO's path"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["order_id"] == order.pk
    assert Message.objects.get().content == "via ECHO's path"


def test_post_order_messages_with_camel_case_order_id(api, order, creator):
    response = api(creator).post(
        "/api/order-messages",
        {"orderId": order.pk, "content": "camel", "clientId": "k1"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["client_id"] == "k1"
    assert Message.objects.get().sender_id == creator.pk


def test_post_order_messages_applies_the_same_rules(api, make_order, buyer, outsider):
    closed = make_order("COMPLETED")
    response = api(buyer).post(
        "/api/order-messages", {"order_id": closed.pk, "content": "x"}, format="json"
    )
    assert response.status_code == 409
    active = make_order("PENDING")
    response = api(outsider).post(
        "/api/order-messages", {"order_id": active.pk, "content": "x"}, format="json"
    )
    assert response.status_code == 403
    response = api(buyer).post(
        "/api/order-messages", {"order_id": 99999, "content": "x"}, format="json"
    )
    assert response.status_code == 404
    response = api(buyer).post("/api/order-messages", {"content": "x"}, format="json")
    assert response.status_code == 400
    assert "order_id" in response.json()["fields"]
