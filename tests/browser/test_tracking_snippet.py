"""The website tracking snippet in a real Chromium: a shop's page on another site (a small HTTP server on
"localhost", while cxloop is the live server on 127.0.0.1) embeds the script with a signed identify; the page
view on load and the one after a history navigation arrive as page.viewed events of one customer, who carries
both the snippet's anonymous id and the signed email; a reload keeps the same anonymous id."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from cxloop.customers.models import Customer, Identity
from cxloop.events.models import Event
from cxloop.portal.survey_widget import sign

pytestmark = pytest.mark.browser

SECRET = "browser-tracking-secret"

SHOP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shoes - Example Shop</title></head>
<body><main><h1>Shoes</h1><button id="orders" type="button">My orders</button></main>
<script>
  window.cxloop = window.cxloop || [];
  cxloop.push(["identify", {{email: "ann@example.com", name: "Ann Example"}}, "{signature}"]);
</script>
<script src="{script}" async></script>
<script>
  document.getElementById("orders").addEventListener("click", function () {{
    history.pushState({{}}, "", "/orders");
    document.title = "My orders - Example Shop";
  }});
</script>
</body></html>"""


def _eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture
def shop(live_server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    html = SHOP_PAGE.format(
        script=f"{live_server.url}/p/widget/track.js", signature=sign("email", "ann@example.com", SECRET)
    ).encode()

    class Shop(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page_viewed_type(live_server) -> None:  # type: ignore[no-untyped-def]
    """The type comes from a data migration, which an earlier live-server test's flush has emptied: restore it."""
    from django.apps import apps

    importlib.import_module("cxloop.events.migrations.0002_page_viewed_type").register(apps, None)


@pytest.fixture
def shop_page(browser, shop: str, settings, page_viewed_type: None) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    settings.CXLOOP_TRACKING_SECRET = SECRET
    settings.CXLOOP_TRACKING_ORIGINS = [shop]
    settings.CXLOOP_TRACKING_PER_MINUTE = 100
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    yield page
    context.close()
    foreign = [url for url in seen if urlsplit(url).hostname not in ("127.0.0.1", "localhost")]
    assert not foreign, f"requests left the machine: {foreign}"


def _paths() -> list[str]:
    return sorted(str(e.properties.get("path")) for e in Event.objects.filter(event_type__key="page.viewed"))


def test_page_views_and_the_signed_identify_arrive_as_one_customer(shop_page, shop):
    shop_page.goto(f"{shop}/shoes")
    assert _eventually(lambda: _paths() == ["/shoes"]), _paths()

    shop_page.click("#orders")
    assert _eventually(lambda: _paths() == ["/orders", "/shoes"]), _paths()
    anonymous_id = shop_page.evaluate("() => window.localStorage.getItem('cxloop_aid')")
    assert _eventually(lambda: Identity.objects.filter(kind="email", value="ann@example.com").exists())

    customer = Identity.objects.get(kind="anonymous", value=anonymous_id).customer
    assert sorted(customer.identities.values_list("kind", "value")) == [
        ("anonymous", anonymous_id),
        ("email", "ann@example.com"),
    ]
    assert customer.name == "Ann Example"
    views = Event.objects.filter(customer=customer).order_by("properties__path")
    assert [(e.properties["path"], e.properties["title"]) for e in views] == [
        ("/orders", "My orders - Example Shop"),
        ("/shoes", "Shoes - Example Shop"),
    ]
    assert views[0].properties["url"] == f"{shop}/orders"

    shop_page.reload()
    assert _eventually(lambda: len(_paths()) == 3), _paths()
    assert shop_page.evaluate("() => window.localStorage.getItem('cxloop_aid')") == anonymous_id
    assert Customer.objects.count() == 1
