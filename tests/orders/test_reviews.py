"""Reviews: the buyer, on a completed order, once; listings and the average."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from orders import services
from orders.models import Review

pytestmark = pytest.mark.django_db


def review(api, user, order, score=5, comment="Great work", **extra):
    return api(user).post(
        "/api/reviews", {"order_id": order.pk, "score": score, "comment": comment, **extra}
    )


def test_buyer_reviews_a_completed_order(api, make_order, buyer, creator):
    order = make_order("COMPLETED")
    response = review(api, buyer, order, score=4, comment="  Solid  ")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["order_id"] == order.pk
    assert body["author_id"] == buyer.pk
    assert body["creator_id"] == creator.pk
    assert body["score"] == 4
    assert body["comment"] == "Solid"
    assert Review.objects.get().author_id == buyer.pk


def test_camel_case_order_id_is_accepted(api, make_order, buyer):
    order = make_order("COMPLETED")
    response = api(buyer).post("/api/reviews", {"orderId": order.pk, "score": 3})
    assert response.status_code == 201, response.content
    assert response.json()["comment"] == ""


@pytest.mark.parametrize("status", ["PENDING", "IN_PROGRESS", "DELIVERED", "CANCELLED"])
def test_only_completed_orders_can_be_reviewed(api, make_order, buyer, status):
    order = make_order(status)
    response = review(api, buyer, order)
    assert response.status_code == 409
    assert response.json()["code"] == "order_not_completed"
    assert not Review.objects.exists()


@pytest.mark.parametrize(
    ("who", "code"),
    [("creator", "wrong_role"), ("admin_user", "wrong_role"), ("outsider", "not_a_party")],
)
def test_only_the_buyer_may_review(api, make_order, request, who, code):
    order = make_order("COMPLETED")
    response = review(api, request.getfixturevalue(who), order)
    assert response.status_code == 403
    assert response.json()["code"] == code
    assert not Review.objects.exists()


def test_a_second_review_is_409(api, make_order, buyer):
    order = make_order("COMPLETED")
    assert review(api, buyer, order, score=5).status_code == 201
    again = review(api, buyer, order, score=1)
    assert again.status_code == 409
    assert again.json()["code"] == "already_reviewed"
    assert list(Review.objects.values_list("score", flat=True)) == [5]


def test_once_per_order_is_a_database_constraint(make_order, buyer, creator):
    order = make_order("COMPLETED")
    Review.objects.create(order=order, author=buyer, creator=creator, score=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(order=order, author=buyer, creator=creator, score=4)


@pytest.mark.parametrize(
    "body",
    [
        {"score": 0},
        {"score": 6},
        {"score": 4.5},
        {"score": "five"},
        {"score": None},
        {"comment": "x" * 2001},
    ],
)
def test_bad_review_input_is_400(api, make_order, buyer, body):
    order = make_order("COMPLETED")
    response = api(buyer).post("/api/reviews", {"order_id": order.pk, "score": 5, **body})
    assert response.status_code == 400, response.content
    assert set(body) <= set(response.json()["fields"])
    assert not Review.objects.exists()


@pytest.mark.parametrize("score", [1, 5])
def test_score_bounds_are_accepted(api, make_order, buyer, score):
    assert review(api, buyer, make_order("COMPLETED"), score=score).status_code == 201


def test_comment_of_2000_characters_is_accepted(api, make_order, buyer):
    assert review(api, buyer, make_order("COMPLETED"), comment="x" * 2000).status_code == 201


def test_unknown_order_is_404(api, buyer):
    response = api(buyer).post("/api/reviews", {"order_id": 98765, "score": 5})
    assert response.status_code == 404


def test_anonymous_cannot_review(api, make_order):
    assert review(api, None, make_order("COMPLETED")).status_code == 401


def leave(order, buyer, score):
    return services.review_leave(order=order, author=buyer, score=score)


def test_reviews_about_a_creator_newest_first(api, make_order, buyer, creator):
    first = leave(make_order("COMPLETED"), buyer, 5)
    second = leave(make_order("COMPLETED"), buyer, 3)

    response = api(None).get(f"/api/reviews/user/{creator.pk}")

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [second.pk, first.pk]
    assert api(None).get(f"/api/reviews/user/{buyer.pk}").json()["results"] == []


@pytest.mark.parametrize(
    ("scores", "average"),
    [([5], 5.0), ([5, 4], 4.5), ([5, 4, 4], 4.3), ([1, 2, 2], 1.7), ([3, 4, 4, 4], 3.8)],
)
def test_average_has_one_decimal(api, make_order, buyer, creator, scores, average):
    for score in scores:
        leave(make_order("COMPLETED"), buyer, score)

    response = api(None).get(f"/api/reviews/user/{creator.pk}/average")

    assert response.status_code == 200
    assert response.json() == {"user_id": creator.pk, "average": average, "count": len(scores)}


def test_average_is_null_without_reviews(api, creator):
    response = api(None).get(f"/api/reviews/user/{creator.pk}/average")
    assert response.json() == {"user_id": creator.pk, "average": None, "count": 0}


def test_reviews_of_an_unknown_user_are_404(api):
    assert api(None).get("/api/reviews/user/777777").status_code == 404
    assert api(None).get("/api/reviews/user/777777/average").status_code == 404


def test_review_of_an_order(api, make_order, buyer, creator, admin_user, outsider):
    order = make_order("COMPLETED")
    left = leave(order, buyer, 4)
    leave(make_order("COMPLETED"), buyer, 2)

    for user in (buyer, creator, admin_user):
        response = api(user).get(f"/api/reviews/order/{order.pk}")
        assert response.status_code == 200
        assert [r["id"] for r in response.json()] == [left.pk]
    assert api(outsider).get(f"/api/reviews/order/{order.pk}").status_code == 403
    assert api(buyer).get("/api/reviews/order/123456").status_code == 404


def test_review_of_an_unreviewed_order_is_an_empty_list(api, order, buyer):
    response = api(buyer).get(f"/api/reviews/order/{order.pk}")
    assert response.status_code == 200
    assert response.json() == []
