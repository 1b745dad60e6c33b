"""Real-browser tests: Debian's Chromium driven by Playwright (sync API) against a real daphne.

Chromium comes from apt (`apt-get install chromium`, /usr/bin/chromium); Playwright's own browser
download is never used. Without Chromium or Playwright these tests skip locally and fail under CI.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import IN_CI
from tests.live.servers import ROOT, Daphne

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "artifacts" / "frontend"
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _chromium_ready() -> None:
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")


@pytest.fixture(autouse=True)
def _server_password_hashing(
    request: pytest.FixtureRequest, _fast_password_hashing: None, settings: Any
) -> None:
    """Browser users sign in on the daphne under test, which knows only the real hashers."""
    if request.node.get_closest_marker("services") is not None:
        from django.conf import global_settings

        settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Daphne]:
    """ECHO on a real daphne process, against this test's database and Redis."""
    server = Daphne(redis_url=settings.REDIS_URL, log_path=tmp_path / "daphne.log")
    yield server
    server.stop()


class Browsing:
    """Browser contexts for one test: sign in, collect console errors, take screenshots.

    Playwright starts on the first page, after every fixture has written its rows: its sync API
    keeps an asyncio loop running on this thread, and Django refuses database calls (and
    async_to_sync broadcasts) from a thread with a running loop. So a test arranges its data
    with fixtures, then drives the site only through the browser (or HTTP), and the browser is
    closed before the database is flushed.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self.playwright: Any = None
        self.browser: Any = None
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def _launch(self) -> Any:
        if self.browser is None:
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        return self.browser

    def page(self, *, width: int = 1280, height: int = 900, locale: str = "en-US") -> Any:
        context = self._launch().new_context(
            base_url=self.base, viewport={"width": width, "height": height}, locale=locale
        )
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        return page

    def signed_in(self, username: str, password: str, **size: Any) -> Any:
        page = self.page(**size)
        page.goto("/signin/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/orders/$"))
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        if self.browser is not None:
            self.browser.close()
        if self.playwright is not None:
            self.playwright.stop()


@pytest.fixture
def browsing(transactional_db: None, site: Daphne) -> Iterator[Browsing]:
    """Set up after the database (so closed before its flush); the browser starts lazily."""
    _chromium_ready()
    session = Browsing(site.http)
    yield session
    session.close()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_live(page: Any) -> None:
    """The page's socket said hello (the connection indicator reads "Live")."""
    page.wait_for_selector('#conn[data-state="live"]')
