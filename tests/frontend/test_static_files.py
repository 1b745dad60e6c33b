"""Static files carry content hashes in their names and are cached for a year, in development
(DEBUG=1, WhiteNoise's autorefresh) and in production mode alike; the JavaScript modules import
each other by their hashed names, so the whole graph is long-cacheable. No build step."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

HASHED = re.compile(r"/static/frontend/app\.[0-9a-f]{12}\.css")


@pytest.mark.parametrize("debug", [True, False])
def test_pages_link_hashed_names_served_as_immutable(settings, buyer, order, debug):
    settings.DEBUG = debug
    settings.SECURE_SSL_REDIRECT = False
    client = Client()  # a new handler: WhiteNoise reads DEBUG when it starts
    client.force_login(buyer)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    css = HASHED.search(page)
    assert css, "the page links the hashed stylesheet"
    script = re.search(r'src="(/static/frontend/order\.[0-9a-f]{12}\.js)"', page)
    assert script, "the page loads the hashed module"

    response = client.get(css.group(0))
    assert response.status_code == 200
    assert "immutable" in response["Cache-Control"]
    max_age = int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1))
    assert max_age >= 365 * 24 * 3600

    module = client.get(script.group(1))
    body = b"".join(module.streaming_content).decode() if module.streaming else module.content
    imports = re.findall(r'from\s*"(\./[^"]+)"', body)
    assert imports, "order.js imports its helpers"
    assert all(re.fullmatch(r"\./[a-z_]+\.[0-9a-f]{12}\.js", name) for name in imports), imports
