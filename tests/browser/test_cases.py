"""Cases in a real Chromium: an agent takes an inbound email as a case, plans a task, promises a call-back, hands
the case over with a note; the receiver reads the hand-over summary, acknowledges it, keeps the promise before it
is due and resolves the case with its outcome. The
queue and the case page have no accessibility violations (axe-core) at desktop and phone widths.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import axe_playwright_python
import pytest
from django.utils import timezone

from cxloop.cases.models import Case, CaseTask, Goal, Handover, Promise
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import setup as setup_services
from cxloop.cases.services.cases import CaseInput
from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import InboundStatus
from cxloop.core.actor import Actor
from cxloop.interactions.models import Interaction, Thread

pytestmark = pytest.mark.browser

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(autouse=True)
def _care_goal(db: None) -> None:
    """The live server's tests flush the database, the shipped goals with it: put "care" back."""
    if not Goal.objects.filter(key="care").exists():
        setup_services.create_goal(Actor.system("test"), key="care", name="Care")


def accessibility_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in result["violations"]
    ]


def inbound_email(subject: str, text: str) -> Thread:
    msg = EmailMessage()
    msg["From"] = "Ann Lee <ann@example.com>"
    msg["To"] = "support@shop.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(text)
    inbound = channel_services.receive(RawPayload(channel="email", data=bytes(msg), content_type="message/rfc822"))
    assert inbound.status == InboundStatus.PROCESSED, inbound.reason
    thread = Interaction.objects.get(public_id=inbound.interaction_refs[0]).thread
    assert thread is not None
    return thread


def test_take_an_email_as_a_case_hand_it_over_and_resolve_it(page, login_as, alice, bob):  # type: ignore[no-untyped-def]
    thread = inbound_email("Boiler broken again", "My boiler stopped working. Can someone call me back?")
    login_as(alice)

    # alice takes the email as a case
    page.goto(f"/inbox/{thread.public_id}/")
    page.get_by_text("Open a case from this conversation").click()
    page.get_by_role("button", name="Open the case").click()
    page.wait_for_url(re.compile(r"/cases/case_[a-z0-9]+/$"))
    case = Case.objects.get()
    assert (case.subject, case.owner, case.source_channel) == ("Boiler broken again", alice.user, "email")
    assert "My boiler stopped working." in page.locator("#timeline").inner_text()

    # she plans a task
    page.get_by_text("Add a task").click()
    page.get_by_label("Task", exact=True).fill("Book an engineer")
    page.get_by_role("button", name="Add task").click()
    page.locator("#plan .plan-title", has_text="Book an engineer").wait_for()
    assert list(CaseTask.objects.values_list("title", flat=True)) == ["Book an engineer"]

    # promises the customer a call-back within two hours
    due = timezone.localtime(timezone.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#promises").get_by_text("Make a promise").click()
    page.get_by_label("What was promised").fill("Call Ann back about the boiler")
    page.get_by_label("Due by").fill(due)
    page.get_by_role("button", name="Record the promise").click()
    page.locator("#promises .promise-item", has_text="Call Ann back about the boiler").wait_for()
    promise = Promise.objects.get()
    assert (promise.case, promise.owner, promise.status) == (case, alice.user, "open")

    # and hands the case over to bob with a note (the note is required)
    page.locator("#handover select[name='handover-owner']").select_option("bob")
    page.get_by_label("Hand-over note").fill("Promised a call-back today about the boiler.")
    page.get_by_role("button", name="Hand over").click()
    page.get_by_text("Case handed to bob.").wait_for()
    handover = Handover.objects.get()
    assert (handover.from_user, handover.to_user) == (alice.user, bob.user)

    # bob finds it in his queue and reads the hand-over summary
    login_as(bob)
    page.goto("/cases/?tab=mine")
    page.get_by_role("link", name=re.compile("Boiler broken again")).click()
    banner = page.locator("#handover-banner")
    banner.wait_for()
    summary = banner.inner_text()
    assert "alice handed this case to you" in summary
    assert "Promised a call-back today about the boiler." in summary
    assert "ann@example.com" in summary
    assert "Book an engineer" in summary
    assert "Call Ann back about the boiler" in summary
    page.get_by_role("button", name="I've read it").click()
    page.get_by_text("Hand-over acknowledged.").wait_for()
    assert page.locator("#handover-banner").count() == 0

    # keeps the promise before it is due
    page.locator("#promises").get_by_role("button", name=re.compile("Mark kept")).click()
    page.locator("#promises .badge", has_text="Kept").wait_for()
    promise.refresh_from_db()
    assert (promise.status, promise.kept_by, promise.was_missed) == ("kept", bob.user, False)
    assert promise.kept_at is not None
    assert promise.kept_at < promise.due_at

    # and resolves the case with its outcome
    page.get_by_text("Resolve the case").click()
    page.get_by_label("Yes").check()
    page.get_by_label("How did it end?").fill("Engineer fixed the boiler; customer called back.")
    page.get_by_role("button", name="Resolve", exact=True).click()
    page.get_by_text("Case resolved.").wait_for()
    case.refresh_from_db()
    assert (case.status, case.goal_achieved, case.outcome) == (
        "resolved",
        True,
        "Engineer fixed the boiler; customer called back.",
    )
    assert Handover.objects.get().acknowledged_at is not None


def test_a_typed_note_survives_a_reload(page, login_as, alice):  # type: ignore[no-untyped-def]
    thread = inbound_email("Where is my parcel?", "It has been a week.")
    case = case_services.open_case(
        alice.actor, CaseInput(customer=thread.customer, subject="Parcel", owner=alice.user, thread=thread)
    )
    login_as(alice)
    page.goto(f"/cases/{case.public_id}/")

    page.fill("#id_note-body", "Courier says Tuesday.")
    page.fill("#id_reply-body", "Hello Ann, it arrives Tuesday.")
    page.reload()

    assert page.input_value("#id_note-body") == "Courier says Tuesday."
    assert page.input_value("#id_reply-body") == "Hello Ann, it arrives Tuesday."


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_queue_case_page_and_board_have_no_accessibility_violations(page, login_as, bob, viewport):  # type: ignore[no-untyped-def]
    thread = inbound_email("Refund please", "I returned the kettle two weeks ago.")
    case = case_services.open_case(
        bob.actor, CaseInput(customer=thread.customer, subject="Refund please", owner=bob.user, thread=thread)
    )
    login_as(bob)
    page.set_viewport_size(viewport)

    page.goto("/cases/?tab=mine")
    queue = accessibility_violations(page)
    page.goto(f"/cases/{case.public_id}/")
    case_page = accessibility_violations(page)
    page.goto("/board/")
    board = accessibility_violations(page)

    assert queue == []
    assert case_page == []
    assert board == []
