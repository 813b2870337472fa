"""The chat widget in a real Chromium at a phone's size, on the demo shop page, against the live server.

A visitor opens the widget with the keyboard and writes; the line reaches the customer's timeline; an
agent's reply, sent through the distribution service, appears without a reload (over Server-Sent
Events, not polling); a reload keeps the conversation; axe finds nothing with the panel open; and when
the stream is refused, the widget polls instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import axe_playwright_python
import pytest

from cxloop.channels.base import OutboundPayload
from cxloop.channels.webchat.models import ChatSession
from cxloop.channels.webchat.sender import ChatSender
from cxloop.interactions.models import Interaction
from cxloop.messaging import services as messaging_services
from cxloop.messaging.types import SendRequest

pytestmark = pytest.mark.browser

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _quick_streams(settings):  # type: ignore[no-untyped-def]
    settings.CXLOOP_CHAT_STREAM_SECONDS = 3  # short, so the test also sees EventSource reconnect and resume
    settings.CXLOOP_CHAT_STREAM_INTERVAL = 0.2
    settings.CXLOOP_QUIET_HOURS = "off"


def eventually(check: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def focused_in_widget(page) -> str:  # type: ignore[no-untyped-def]
    """The class or id of the element focused inside the widget's shadow root ("" when focus is elsewhere)."""
    return page.evaluate(
        """() => {
            const host = document.activeElement;
            if (!host || host.id !== 'cxloop-chat') return '';
            const el = host.shadowRoot.activeElement;
            return el ? (el.id || el.className) : '';
        }"""
    )


def open_widget_by_keyboard(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("#cxloop-chat .launcher").wait_for()
    for _ in range(30):
        page.keyboard.press("Tab")
        if focused_in_widget(page) == "launcher":
            break
    assert focused_in_widget(page) == "launcher"
    page.keyboard.press("Enter")
    page.locator("#cxloop-chat [role=dialog]").wait_for()


def test_a_visitor_chats_on_a_phone_and_sees_the_agents_reply_live(page, live_server, alice, requests_seen):
    page.set_viewport_size(PHONE)
    page.goto("/chat/demo/")

    open_widget_by_keyboard(page)

    panel = page.locator("#cxloop-chat [role=dialog]").bounding_box()
    assert panel == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}  # full screen
    assert focused_in_widget(page) == "cx-text"
    page.keyboard.type("Do the Scree boots come in size 48?")
    page.keyboard.press("Enter")
    page.locator("#cxloop-chat .msg.visitor").filter(has_text="size 48").wait_for()

    recorded = eventually(lambda: Interaction.objects.filter(channel="chat", body__contains="size 48").first())
    assert isinstance(recorded, Interaction)
    session = ChatSession.objects.get()
    assert session.customer_id == recorded.customer_id
    assert session.thread_ref == recorded.thread.public_id

    time.sleep(3.5)  # let the first stream end, so the reply arrives on a reconnected one
    message = messaging_services.send_message(
        alice.actor,
        SendRequest(
            customer_id=recorded.customer.public_id,
            channel="chat",
            text="Yes, size 48 is in stock.",
            thread_id=session.thread_ref,
        ),
    )
    messaging_services.dispatch(message.pk)

    page.locator("#cxloop-chat .msg.agent").filter(has_text="size 48 is in stock").wait_for()
    log = page.locator("#cxloop-chat [role=log]")
    assert log.get_attribute("aria-live") == "polite"
    streams = [url for url in requests_seen if "/stream?key=" in url]
    polls = [url for url in requests_seen if "/messages?after=" in url]
    assert len(streams) >= 2
    assert polls == []

    page.reload()
    page.locator("#cxloop-chat .launcher").click()
    page.locator("#cxloop-chat .msg.agent").filter(has_text="size 48 is in stock").wait_for()
    assert page.locator("#cxloop-chat .msg.visitor").count() == 1  # the same conversation, not a new one
    assert ChatSession.objects.count() == 1


def test_the_open_panel_traps_focus_and_escape_closes_it(page, live_server, db):
    page.set_viewport_size(PHONE)
    page.goto("/chat/demo/")
    open_widget_by_keyboard(page)

    seen = []
    for _ in range(8):
        page.keyboard.press("Tab")
        seen.append(focused_in_widget(page))
    page.keyboard.press("Shift+Tab")
    back = focused_in_widget(page)

    assert "" not in seen  # focus never left the panel
    assert {"close", "log", "toggle", "cx-text"} <= set(seen)
    assert back == seen[-2]
    page.keyboard.press("Escape")
    assert not page.locator("#cxloop-chat [role=dialog]").is_visible()
    assert focused_in_widget(page) == "launcher"


def test_leaving_an_email_with_a_mistake_shows_the_field_error_then_saves(page, live_server, db):
    page.goto("/chat/demo/")
    page.locator("#cxloop-chat .launcher").click()
    page.locator("#cxloop-chat .toggle").click()

    page.locator("#cx-email").fill("ann@@example")
    page.locator("#cxloop-chat .contact button[type=submit]").click()
    page.locator("#cx-email-error").filter(has_text="e").wait_for()
    assert page.locator("#cx-email").get_attribute("aria-invalid") == "true"
    assert focused_in_widget(page) == "cx-email"

    page.locator("#cx-email").fill("ann@example.com")
    page.locator("#cxloop-chat .contact button[type=submit]").click()
    page.locator("#cxloop-chat .msg.system").filter(has_text="reply by email").wait_for()
    assert not page.locator("#cxloop-chat .toggle").is_visible()
    session = ChatSession.objects.get()
    assert session.identified_at is not None


def test_the_demo_page_with_the_panel_open_has_no_accessibility_violations(page, live_server, db):
    page.set_viewport_size(PHONE)
    page.goto("/chat/demo/")
    page.locator("#cxloop-chat .launcher").click()
    page.locator("#cxloop-chat .toggle").click()  # the contact form open too
    page.locator("#cx-email").wait_for()

    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")

    violations = [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}" for v in result["violations"]]
    assert violations == []


def test_when_the_stream_is_refused_the_widget_polls_and_still_gets_the_reply(
    page, live_server, settings, requests_seen
):
    settings.CXLOOP_CHAT_MAX_STREAMS = 0  # every stream answers 503, which EventSource does not retry
    page.goto("/chat/demo/")
    page.locator("#cxloop-chat .launcher").click()
    page.locator("#cx-text").fill("Are you there?")
    page.keyboard.press("Enter")
    page.locator("#cxloop-chat .msg.visitor").filter(has_text="Are you there?").wait_for()

    session = ChatSession.objects.get()
    ChatSender().send(OutboundPayload(message_ref="msg_poll", channel="chat", to=session.anonymous_id, text="We are!"))

    page.locator("#cxloop-chat .msg.agent").filter(has_text="We are!").wait_for()
    assert [url for url in requests_seen if "/stream?key=" in url]
    assert [url for url in requests_seen if "/messages?after=" in url]
