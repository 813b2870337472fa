"""The inbox in a real Chromium: find a conversation, keep a reply's draft across a reload, send it, see it go out;
and no accessibility violations on the inbox and the conversation at desktop and phone widths.
"""

from __future__ import annotations

import json
import re
from email.utils import make_msgid
from pathlib import Path

import axe_playwright_python
import pytest

from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import InboundStatus
from cxloop.core.actor import Actor
from cxloop.interactions import conversations
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Interaction, Thread
from cxloop.interactions.types import InteractionInput
from cxloop.messaging.models import MessageStatus, OutboundMessage

pytestmark = pytest.mark.browser

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def accessibility_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every axe-core finding on the current page, whatever its impact (the script is inlined, not fetched)."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in result["violations"]
    ]


def social(handle: str, name: str, text: str) -> Thread:
    body = {
        "network": "instagram",
        "id": make_msgid(),
        "author": {"handle": handle, "name": name},
        "text": text,
        "visibility": "private",
    }
    inbound = channel_services.receive(RawPayload(channel="social", data=json.dumps(body).encode(), source="test"))
    assert inbound.status == InboundStatus.PROCESSED, inbound.reason
    thread = Interaction.objects.get(public_id=inbound.interaction_refs[0]).thread
    assert thread is not None
    return thread


@pytest.fixture
def ann_thread(db: None) -> Thread:
    return social("@ann.lee", "Ann Lee", "My card was charged twice for one coffee")


def test_reply_draft_survives_a_reload_and_the_sent_reply_appears(page, login_as, alice, ann_thread):
    social("@bo", "Bo Chan", "Where is my parcel?")
    login_as(alice)
    page.goto("/")

    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("^Inbox")).click()
    page.get_by_role("link", name=re.compile("Ann Lee")).click()
    page.wait_for_url(f"**/inbox/{ann_thread.public_id}/")
    page.fill("#id_reply-body", "Sorry about that, Ann.\nThe second charge is refunded.")
    page.reload()
    assert page.input_value("#id_reply-body") == "Sorry about that, Ann.\nThe second charge is refunded."
    page.get_by_role("button", name="Send").click()
    page.locator("#reply .badge-ok", has_text="Reply queued").wait_for()

    message = OutboundMessage.objects.get()
    assert (message.channel, message.thread_ref, message.status) == (
        "social",
        ann_thread.public_id,
        MessageStatus.QUEUED,
    )
    assert message.body_text == "Sorry about that, Ann.\nThe second charge is refunded."
    last = page.locator("#chat > li.bubble").last
    assert "bubble-outbound" in (last.get_attribute("class") or "")
    assert "The second charge is refunded." in last.inner_text()
    assert last.locator(".delivery").inner_text() == "Queued"
    assert page.input_value("#id_reply-body") == ""
    page.reload()
    assert page.input_value("#id_reply-body") == ""


def test_a_canned_reply_is_inserted_into_the_reply_box(page, login_as, alice, ann_thread):
    from cxloop.messaging import services as messaging_services
    from cxloop.messaging.types import TemplateContent

    messaging_services.create_template(
        Actor.system("test"),
        key="refund-done",
        name="Refund done",
        channel="social",
        content=TemplateContent(locale="en", body_text="Hi {{ customer.first_name }}, your refund is on its way."),
    )
    login_as(alice)
    page.goto(f"/inbox/{ann_thread.public_id}/")

    page.fill("#id_reply-body", "Thanks for waiting.")
    page.select_option("#canned-picker", "refund-done")
    page.locator("#canned-status", has_text="Inserted").wait_for()

    assert page.input_value("#id_reply-body") == "Thanks for waiting.\nHi Ann, your refund is on its way."
    page.reload()
    assert page.input_value("#id_reply-body") == "Thanks for waiting.\nHi Ann, your refund is on its way."


def test_keyboard_opens_a_conversation_from_the_list(page, login_as, alice, ann_thread):
    login_as(alice)
    page.goto("/inbox/")

    page.keyboard.press("j")
    assert "is-selected" in (page.locator("[data-row]").first.get_attribute("class") or "")
    page.keyboard.press("Enter")

    page.wait_for_url(f"**/inbox/{ann_thread.public_id}/")


def test_a_note_and_a_status_change_without_leaving_the_page(page, login_as, alice, ann_thread):
    login_as(alice)
    page.goto(f"/inbox/{ann_thread.public_id}/")

    page.fill("#id_note-body", "Checked the payment provider: duplicate capture.")
    page.get_by_role("button", name="Add note").click()
    page.locator("#chat .bubble-internal", has_text="duplicate capture").wait_for()
    page.get_by_role("button", name="Closed").click()
    page.locator("#controls [role=status]", has_text="Marked closed").wait_for()

    ann_thread.refresh_from_db()
    assert ann_thread.status == "closed"
    assert page.input_value("#id_note-body") == ""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_inbox_and_conversation_have_no_accessibility_violations(page, login_as, bob, alice, ann_thread, viewport):
    system = Actor.system("test")
    conversations.assign_thread(system, ann_thread, user=bob.user)  # the nav shows bob's count
    interaction_services.record_interaction(
        system,
        ann_thread.customer,
        InteractionInput(channel="note", direction="internal", body="Refund approved by finance."),
        thread=ann_thread,
    )
    social("@bo", "Bo Chan", "Where is my parcel?")
    page.set_viewport_size(viewport)
    login_as(bob)

    page.goto("/inbox/")
    assert page.locator("[data-row]").count() == 2
    inbox_violations = accessibility_violations(page)
    page.goto(f"/inbox/{ann_thread.public_id}/")
    conversation_violations = accessibility_violations(page)

    assert inbox_violations == []
    assert conversation_violations == []
