"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

One browser per test session (starting Chromium is the slow part); a fresh context per test, logged in
by planting a session cookie. Every request a page makes is recorded, and each test ends by checking
that all of them went to the live server on 127.0.0.1: nothing is fetched from a CDN or the internet.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client

from tests.conftest import Member

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are still
# plain synchronous code, so Django's async-safety guard must be told so.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
# The live server listens on, and pages are loaded from, 127.0.0.1 (pytest-django defaults to "localhost").
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]


def _chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("Debian's chromium is not installed (make browser-deps)")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    # While Playwright runs, Django sees an event loop and keeps its database connections per async
    # context: close the ones of the plain context first and the Playwright context's at the end, so
    # none is left holding the test database open when pytest-django drops it.
    connections.close_all()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        connections.close_all()


class Requests(list[str]):
    """Every URL the page asked for."""

    def assert_all_local(self) -> None:
        foreign = [url for url in self if urlsplit(url).hostname != "127.0.0.1" and not url.startswith("data:")]
        assert not foreign, f"requests left the machine: {foreign}"


@pytest.fixture
def requests_seen() -> Requests:
    return Requests()


@pytest.fixture
def page(browser, live_server, requests_seen: Requests) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    new_page.on("request", lambda request: requests_seen.append(request.url))
    yield new_page
    context.close()
    requests_seen.assert_all_local()


@pytest.fixture
def login_as(page, live_server) -> Callable[[Member], None]:  # type: ignore[no-untyped-def]
    """Log `member` in without the login form, by giving the browser a real session cookie."""

    def login(member: Member) -> None:
        client = Client()
        client.force_login(member.user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
        )

    return login


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
