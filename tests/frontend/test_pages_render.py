"""The pages render server-side with the right access rules (Django's test client, no browser)."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def boot_of(response) -> dict:
    match = re.search(
        rb'<script id="boot" type="application/json">(.*?)</script>', response.content
    )
    assert match, "the page embeds its data"
    return json.loads(match.group(1))


def test_marketplace_lists_escaped_listings_and_asks_strangers_to_sign_in(creator):
    ItemFactory(creator=creator, title="<script>alert(1)</script> poster")
    response = Client().get("/")
    assert response.status_code == 200
    assert b"&lt;script&gt;alert(1)&lt;/script&gt; poster" in response.content
    assert b"<script>alert(1)" not in response.content
    assert b"Sign in to order" in response.content


def test_marketplace_filters_by_type_and_creator(creator, outsider):
    ItemFactory(creator=creator, title="A service", item_type="SERVICE")
    ItemFactory(creator=outsider, title="A product", item_type="PRODUCT")
    body = Client().get("/?item_type=PRODUCT").content
    assert b"A product" in body and b"A service" not in body
    body = Client().get(f"/?creator={creator.pk}").content
    assert b"A service" in body and b"A product" not in body


def test_private_pages_send_strangers_to_sign_in():
    for path in ("/orders/", "/orders/1/", "/desk/", "/disputes/1/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/signin/?next=")


def test_sign_in_with_the_form_lands_on_my_orders(buyer, password):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/signin/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    response = client.post(
        "/signin/",
        {"username": "buyer", "password": password, "csrfmiddlewaretoken": token.decode()},
    )
    assert response.status_code == 302 and response["Location"] == "/orders/"
    assert client.get("/orders/").status_code == 200


def test_register_creates_the_account_through_the_service_and_signs_in(buyer):
    client = Client()
    taken = client.post(
        "/register/",
        {"username": "BUYER", "email": "b2@example.com", "password": "correct-horse-42"},
    )
    assert taken.status_code == 200
    assert b"This username is taken." in taken.content
    weak = client.post(
        "/register/", {"username": "maria", "email": "m@example.com", "password": "12345678"}
    )
    assert b"too common" in weak.content
    response = client.post(
        "/register/",
        {"username": "maria", "email": "maria@example.com", "password": "correct-horse-42"},
    )
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="maria", email="maria@example.com").exists()
    assert b"maria" in client.get("/orders/").content


def test_the_order_page_embeds_its_history_so_first_paint_needs_no_api_call(buyer, creator, order):
    from orders import services

    services.message_post(order=order, sender=buyer, content="</script><b>hi</b>")
    response = signed_in(creator).get(f"/orders/{order.pk}/")
    assert response.status_code == 200
    assert b"</script><b>hi" not in response.content  # json_script escapes markup
    data = boot_of(response)
    assert data["me"]["role"] == "creator"
    assert [m["content"] for m in data["messages"]] == ["</script><b>hi</b>"]
    assert [e["to_status"] for e in data["events"]] == ["PENDING"]
    assert data["order"]["allowed_moves"] == ["CANCELLED"]
    assert data["order"]["last_seq"] == 2


def test_the_order_page_refuses_outsiders_and_unknown_orders(outsider, order):
    client = signed_in(outsider)
    assert client.get(f"/orders/{order.pk}/").status_code == 403
    assert client.get("/orders/999999/").status_code == 404


def test_the_mediation_desk_is_for_staff_only(buyer, admin_user):
    assert signed_in(buyer).get("/desk/").status_code == 403
    response = signed_in(admin_user).get("/desk/")
    assert response.status_code == 200
    assert b"Mediation desk" in response.content


def test_my_orders_lists_orders_by_role(buyer, creator, order):
    body = signed_in(creator).get("/orders/").content.decode()
    creator_section = body.split('data-role="creator"')[1]
    assert f'data-order-id="{order.pk}"' in creator_section
    assert "Pending" in creator_section


def test_user_text_is_marked_dir_auto_for_right_to_left_languages(buyer, creator):
    from orders import services

    item = ItemFactory(creator=creator, title="שלום עולם poster", description="תיאור")
    order = services.order_place(buyer=buyer, item=item)
    market = Client().get("/").content.decode()
    assert '<h2 class="item-title" dir="auto">שלום עולם poster</h2>' in market
    assert '<p class="desc" dir="auto">תיאור</p>' in market
    page = signed_in(buyer).get(f"/orders/{order.pk}/").content.decode()
    assert '<span dir="auto">שלום עולם poster</span>' in page
    assert '<p class="desc" id="terms-description" dir="auto">תיאור</p>' in page
    assert '<textarea id="compose-text" rows="2" maxlength="5000" required dir="auto">' in page
