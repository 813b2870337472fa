"""The survey web widget in a real Chromium: a shop's page on another site (a small HTTP server on "localhost",
while cxloop is the live server on 127.0.0.1) embeds the script tag with a signed customer; the panel appears,
is clean under axe-core with the survey open, and is answered with the keyboard alone; the answer is recorded
with channel "web"; Escape closes the panel and gives the focus back; the next page view asks nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import axe_playwright_python
import pytest

from cxloop.feedback.definitions import standard_definition
from cxloop.feedback.models import Invitation, Response
from cxloop.portal.survey_widget import sign
from tests.feedback.factories import SurveyFactory

pytestmark = pytest.mark.browser

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")
SECRET = "browser-test-secret"
PHONE = {"width": 390, "height": 844}
COMMENT = "The delivery was late twice."

SHOP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>My orders - Example Shop</title></head>
<body><header><p><a href="/">Example Shop</a></p></header>
<main><h1>My orders</h1><p>Order 1042: delivered.</p><p><a id="last-link" href="/help">Help</a></p></main>
<script src="{script}" data-survey="site-nps" data-customer="ann@example.com" data-kind="email"
        data-signature="{signature}" async></script>
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
    """The shop's website on another site than cxloop: http://localhost:<port>/."""
    html = SHOP_PAGE.format(
        script=f"{live_server.url}/p/widget/survey.js", signature=sign("email", "ann@example.com", SECRET)
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
def shop_page(browser, shop: str, settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    settings.CXLOOP_SURVEY_WIDGET_SECRET = SECRET
    settings.CXLOOP_SURVEY_WIDGET_ORIGINS = [shop]
    settings.CXLOOP_SURVEY_FATIGUE_DAYS = 30
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    yield page
    context.close()
    foreign = [url for url in seen if urlsplit(url).hostname not in ("127.0.0.1", "localhost")]
    assert not foreign, f"requests left the machine: {foreign}"


@pytest.fixture
def survey(db: None) -> Any:
    return SurveyFactory(
        key="site-nps",
        kind="nps",
        definition={**standard_definition("nps"), "title": "How are we doing?"},
        widget_enabled=True,
    )


def _survey_frame(page) -> Any:  # type: ignore[no-untyped-def]
    handle = page.locator("#cxloop-survey iframe").element_handle()
    frame = handle.content_frame()
    assert frame is not None, "the survey frame did not load"
    frame.wait_for_load_state()
    assert "/p/widget/s/" in frame.url
    return frame


def _axe(target) -> list[str]:  # type: ignore[no-untyped-def]
    target.add_script_tag(path=str(AXE_JS))
    result = target.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in result["violations"]]


def _focus_in_panel(page) -> str:  # type: ignore[no-untyped-def]
    return str(
        page.evaluate(
            """() => {
                const host = document.activeElement;
                if (!host || host.id !== 'cxloop-survey') return '';
                const el = host.shadowRoot.activeElement;
                return el ? el.tagName.toLowerCase() + '.' + el.className : '';
            }"""
        )
    )


def test_a_logged_in_customer_answers_the_widget_with_the_keyboard_on_a_phone(shop_page, shop: str, survey):
    page = shop_page

    # when: Ann opens her orders page on the shop's website
    page.goto(shop + "/")

    # then: the panel appears at the bottom, within the screen, headed by the survey's title
    panel = page.locator("#cxloop-survey aside")
    panel.wait_for()
    assert page.get_by_role("complementary", name="How are we doing?").is_visible()
    box = panel.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] + box["height"] <= PHONE["height"]
    frame = _survey_frame(page)
    frame.get_by_role("radio", name="10", exact=True).wait_for()
    invitation = Invitation.objects.get()
    assert (invitation.channel, invitation.trigger, invitation.status) == ("web", "widget", "opened")
    assert list(invitation.customer.identities.values_list("value", flat=True)) == ["ann@example.com"]
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert _axe(page) == []
    assert _axe(frame) == []

    # when: the keyboard alone: past the shop's links to the panel's close button, into the survey, 3, a comment
    for _ in range(10):
        page.keyboard.press("Tab")
        if _focus_in_panel(page) == "button.close":
            break
    assert _focus_in_panel(page) == "button.close"
    page.keyboard.press("Tab")
    frame.wait_for_function("document.activeElement && document.activeElement.name === 'score'")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert frame.get_by_role("radio", name="3", exact=True).is_checked()
    page.keyboard.press("Tab")
    frame.wait_for_function("document.activeElement && document.activeElement.id === 'a-comment'")
    page.keyboard.type(COMMENT)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    # then: thanks in the panel, the answer recorded with channel "web"
    frame.get_by_role("heading", name="Thank you").wait_for()
    response = _eventually(lambda: Response.objects.filter(invitation=invitation).first())
    assert response is not None
    assert (response.score, response.comment, response.channel, response.customer_id) == (
        3,
        COMMENT,
        "web",
        invitation.customer_id,
    )
    status = page.locator("#cxloop-survey [role=status]")
    _eventually(lambda: "Thank you" in status.inner_text())

    # when: Escape, pressed in the survey's frame
    frame.locator("h1").click()
    page.keyboard.press("Escape")

    # then: the panel is gone and the focus is back on the shop's page
    page.locator("#cxloop-survey").wait_for(state="detached")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'last-link'")

    # when: the next page view
    with page.expect_response(lambda r: r.url.endswith("/p/widget/invitations") and r.request.method == "POST") as r:
        page.reload()

    # then: nothing to ask
    assert r.value.status == 204
    assert page.locator("#cxloop-survey").count() == 0
    assert Invitation.objects.count() == 1


def test_the_close_button_closes_the_panel_for_this_invitation(shop_page, shop: str, survey):
    page = shop_page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(shop + "/")
    page.locator("#cxloop-survey aside").wait_for()

    # when
    page.get_by_role("button", name="Close the survey").click()

    # then: gone, and a new page view of the same (still open) invitation does not bring it back
    page.locator("#cxloop-survey").wait_for(state="detached")
    with page.expect_response(lambda r: r.url.endswith("/p/widget/invitations") and r.request.method == "POST") as r:
        page.reload()
    assert r.value.status == 200
    page.wait_for_timeout(300)
    assert page.locator("#cxloop-survey").count() == 0
    assert Invitation.objects.count() == 1
