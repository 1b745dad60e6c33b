"""A page on another origin cannot open a websocket to ECHO with the visitor's session cookie.

The browser sends the session cookie to 127.0.0.1 whatever the port, so a page served from
another port of the same host (another origin, the same site) would ride the visitor's session
if the handshake admitted any Origin on an allowed host. It admits exactly the site's own
origin and CSRF_TRUSTED_ORIGINS.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.live.servers import free_port

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Opens the order room with whatever cookies the browser sends, and records what happens.
PROBE = """
(url) => new Promise((resolve) => {
  const seen = {frames: [], close: null, error: false};
  const ws = new WebSocket(url);
  ws.onmessage = (event) => seen.frames.push(JSON.parse(event.data).type);
  ws.onerror = () => { seen.error = true; };
  ws.onclose = (event) => { seen.close = event.code; resolve(seen); };
  setTimeout(() => { ws.close(); }, 3000);
})
"""


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[str]:
    """A second local HTTP server on another port: another origin on the same host."""
    (tmp_path / "page.html").write_text("<!doctype html><title>elsewhere</title><p>elsewhere</p>")
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_page_on_another_port_cannot_use_the_session_cookie_over_a_websocket(
    browsing: Any, site: Any, other_origin: str, buyer: Any, password: str, order: Any
) -> None:
    page = browsing.signed_in("buyer", password)
    room = f"{site.ws}/ws/orders/{order.pk}/"

    # From the site's own page the cookie opens the room: the session is good.
    page.goto(f"/orders/{order.pk}/")
    own = page.evaluate(PROBE, room)
    assert "hello" in own["frames"], own

    # The same script on another origin of the same host, with the same cookie: refused at the
    # handshake, before any frame.
    page.goto(f"{other_origin}/page.html")
    assert page.evaluate("document.title") == "elsewhere"
    foreign = page.evaluate(PROBE, room)
    assert foreign["frames"] == [], foreign
    assert foreign["error"] is True
    assert foreign["close"] == 1006  # the handshake failed (HTTP 403): no socket was opened
    assert "websocket refused: foreign origin" in site.log_path.read_text(errors="replace")
