"""The issue's other two "done when" scenarios in a real Chromium:

- a promise is missed: the worker's sweep marks it, the supervisor of the owner's team is notified, sees it on
  the board and on the customer page;
- the same complaint arrives twice within a week: the first email opened a case (email opens cases), the agent
  resolved it, and the second email (a new message, no reply headers) joins that case as a repeat contact and
  reopens it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.utils import timezone

from cxloop.cases.models import Case, Goal, Promise, RepeatContact
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import promises as promise_services
from cxloop.cases.services import setup as setup_services
from cxloop.cases.services.cases import CaseInput
from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import InboundStatus
from cxloop.core.actor import Actor
from cxloop.interactions.models import Interaction

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _care_goal(db: None) -> None:
    """The live server's tests flush the database, the shipped goals with it: put "care" back."""
    if not Goal.objects.filter(key="care").exists():
        setup_services.create_goal(Actor.system("test"), key="care", name="Care")


def email_from_ann(subject: str, text: str) -> Interaction:
    msg = EmailMessage()
    msg["From"] = "Ann Lee <ann@example.com>"
    msg["To"] = "support@shop.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(text)
    inbound = channel_services.receive(RawPayload(channel="email", data=bytes(msg), content_type="message/rfc822"))
    assert inbound.status == InboundStatus.PROCESSED, inbound.reason
    return Interaction.objects.get(public_id=inbound.interaction_refs[0])


def test_a_missed_promise_escalates_to_the_supervisor(page, login_as, alice, bob):  # type: ignore[no-untyped-def]
    message = email_from_ann("Refund for the kettle", "I returned the kettle two weeks ago and have no refund.")
    assert message.thread is not None
    case = case_services.open_case(
        alice.actor,
        CaseInput(customer=message.customer, subject="Refund for the kettle", owner=alice.user, thread=message.thread),
    )

    # alice promises a refund confirmation in a few minutes, on the case page
    login_as(alice)
    page.goto(f"/cases/{case.public_id}/")
    due = timezone.localtime(timezone.now() + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#promises").get_by_text("Make a promise").click()
    page.get_by_label("What was promised").fill("Confirm the kettle refund by phone")
    page.get_by_label("Due by").fill(due)
    page.get_by_role("button", name="Record the promise").click()
    page.locator("#promises .promise-item", has_text="Confirm the kettle refund by phone").wait_for()
    promise = Promise.objects.get()

    # nobody keeps it; the worker's sweep runs after its due time
    swept = promise_services.sweep_promises(promise.due_at + timedelta(minutes=1))
    assert swept.missed == 1
    promise.refresh_from_db()
    assert (promise.status, promise.was_missed, promise.escalated_to) == ("missed", True, bob.user)

    # bob, alice's supervisor, is told, and sees it on the board and on the customer page
    login_as(bob)
    page.goto("/board/")
    assert page.locator("header .notifications-link .count").inner_text().startswith("1")
    missed = page.locator("section[aria-labelledby='missed-title']")
    assert "Confirm the kettle refund by phone" in missed.inner_text()
    assert "Alice" in missed.inner_text() or "alice" in missed.inner_text()
    page.goto("/notifications/")
    assert "Confirm the kettle refund by phone" in page.locator("main").inner_text()
    page.goto(f"/customers/{case.customer.public_id}/")
    item = page.locator(f"#promise-{promise.public_id}")
    assert "Missed" in item.inner_text()
    assert "escalated to bob" in item.inner_text().lower()


def test_the_same_complaint_twice_in_a_week_is_a_repeat_contact(page, login_as, alice, bob):  # type: ignore[no-untyped-def]
    system = Actor.system("test")
    setup_services.set_channel_case_setting(system, "email", opens_cases=True)

    first = email_from_ann("Charged twice", "My card was charged twice for the same order 4411. Please refund one.")
    case = Case.objects.get()
    assert case.source_channel == "email"
    case_services.assign_case(system, case, owner=alice.user)

    # alice resolves the first contact from her queue
    login_as(alice)
    page.goto("/cases/?tab=mine")
    page.get_by_role("link", name=re.compile("Charged twice")).click()
    page.get_by_text("Resolve the case").click()
    page.get_by_label("Yes").check()
    page.get_by_label("How did it end?").fill("Refunded the duplicate charge.")
    page.get_by_role("button", name="Resolve", exact=True).click()
    page.get_by_text("Case resolved.").wait_for()

    # two days later the same complaint comes again, as a new email
    second = email_from_ann("Double charge again??", "My card was charged twice for order 4411, still not refunded!")

    assert Case.objects.count() == 1  # linked to the case, not a new one
    repeat = RepeatContact.objects.get()
    assert (repeat.case_id, repeat.interaction_ref) == (case.pk, second.public_id)
    case.refresh_from_db()
    assert (case.status, case.repeat_count, case.reopen_count) == ("open", 1, 1)
    assert second.thread is not None
    assert second.thread != first.thread
    assert Interaction.objects.get(pk=second.pk).case_ref == case.public_id

    page.goto("/cases/?tab=mine")
    row = page.locator("tr", has_text="Charged twice")
    assert "Repeat contact" in row.inner_text()
    row.get_by_role("link", name=re.compile("Charged twice")).click()
    timeline = page.locator("#timeline").inner_text()
    assert "charged twice for the same order 4411" in timeline
    assert "still not refunded" in timeline
    assert "Repeat contact" in page.locator("main").inner_text()
