"""Cases from inbound messages (the "message.received" subscriber), new conversations joining a recent case as
repeat contacts, and the auto-close of resolved cases — with the real email pipeline at the end."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from cxloop.cases.models import Case, CaseConversation, CaseStatus, ChannelCaseSetting, RepeatContact
from cxloop.cases.services import intake
from cxloop.cases.tasks import close_resolved
from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.channels.events import InboundReceived
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.events import bus
from cxloop.interactions import conversations
from cxloop.interactions.models import Interaction, Thread
from cxloop.interactions.services import record_interaction
from cxloop.interactions.types import InteractionInput
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory, CategoryFactory, GoalFactory
from tests.customers.factories import CustomerFactory
from tests.interactions.factories import ThreadFactory

COMPLAINT = "Hello, my card was charged twice for one coffee at your cafe and I still have no refund."
COMPLAINT_AGAIN = "Second time I write: the coffee was charged twice on my card. Where is my refund?"
OTHER_MATTER = "Could you send my parcel to my new flat in Leeds instead?"


@pytest.fixture
def events():  # type: ignore[no-untyped-def]
    seen: list[bus.DomainEvent] = []
    bus.subscribe("*", seen.append)
    yield seen
    bus.unsubscribe("*", seen.append)


@pytest.fixture
def email_opens_cases(db):  # type: ignore[no-untyped-def]
    return ChannelCaseSetting.objects.create(
        channel="email",
        opens_cases=True,
        goal=GoalFactory(key="retain"),
        category=CategoryFactory(key="billing"),
        priority="high",
    )


def _message(thread: Thread, body: str = COMPLAINT) -> Interaction:
    return record_interaction(
        Actor.system("test"),
        thread.customer,
        InteractionInput(channel=thread.channel, direction="inbound", body=body, summary=body[:80]),
        thread=thread,
    )


def _received(thread: Thread, interaction: Interaction, kind: str = "message") -> InboundReceived:
    return InboundReceived(
        inbound_id="inb_test",
        interaction_id=interaction.public_id,
        customer_id=thread.customer.public_id,
        thread_id=thread.public_id,
        channel=thread.channel,
        kind=kind,
        address="ann@example.com",
    )


def _new_conversation(customer=None, subject: str = "Charged twice", body: str = COMPLAINT):  # type: ignore[no-untyped-def]
    thread = ThreadFactory(customer=customer or CustomerFactory(), channel="email", subject=subject)
    return thread, _message(thread, body)


def _case_on(thread: Thread, status: str, **kwargs) -> Case:  # type: ignore[no-untyped-def]
    """A case that served `thread`, opened two days ago."""
    case = CaseFactory(
        customer=thread.customer,
        subject=thread.subject,
        status=status,
        opened_at=clock.now() - timedelta(days=2),
        **kwargs,
    )
    CaseConversation.objects.create(case=case, thread=thread, linked_at=case.opened_at)
    conversations.link_thread_to_case(thread, case.public_id)
    return case


# --- opening cases per channel ------------------------------------------------------------------------------------


def test_a_new_conversation_opens_a_case_where_the_channel_says_so(email_opens_cases):
    thread, message = _new_conversation()

    intake.on_message_received(_received(thread, message))

    case = Case.objects.get()
    thread.refresh_from_db()
    message.refresh_from_db()
    assert (case.subject, case.source_channel, case.priority) == ("Charged twice", "email", "high")
    assert (case.goal.key, case.category.key if case.category else None) == ("retain", "billing")
    assert case.created_by is None
    assert case.customer_id == thread.customer_id
    assert thread.case_ref == case.public_id
    assert message.case_ref == case.public_id
    assert case.is_repeat_contact is False
    assert AuditEntry.objects.get(action="case.opened").via == "cases:intake"


def test_a_channel_that_does_not_open_cases_leaves_the_conversation_in_the_inbox(db):
    ChannelCaseSetting.objects.create(channel="email", opens_cases=False)
    ChannelCaseSetting.objects.create(channel="sms", opens_cases=True)  # another channel's setting
    thread, message = _new_conversation()

    intake.on_message_received(_received(thread, message))

    thread.refresh_from_db()
    assert not Case.objects.exists()
    assert thread.case_ref == ""


def test_a_redelivered_event_opens_no_second_case(email_opens_cases):
    thread, message = _new_conversation()
    event = _received(thread, message)

    intake.on_message_received(event)
    intake.on_message_received(event)

    assert Case.objects.count() == 1
    assert RepeatContact.objects.count() == 0


def test_an_auto_reply_or_bounce_opens_no_case(email_opens_cases):
    thread, message = _new_conversation(subject="Out of office", body="I am away until Monday.")

    intake.on_message_received(_received(thread, message, kind="auto_reply"))
    intake.on_message_received(_received(thread, message, kind="bounce"))

    assert not Case.objects.exists()


def test_a_later_message_of_a_conversation_without_a_case_opens_none(email_opens_cases):
    thread, _ = _new_conversation()
    later = _message(thread, "Any news?")

    result = intake.handle_message(thread.public_id, later.public_id)

    assert result.outcome == intake.IGNORED
    assert not Case.objects.exists()


def test_a_message_on_an_open_cases_conversation_is_left_to_the_case(email_opens_cases):
    thread, _ = _new_conversation()
    case = _case_on(thread, "open")
    message = _message(thread, COMPLAINT_AGAIN)

    result = intake.handle_message(thread.public_id, message.public_id)

    assert result.outcome == intake.IGNORED
    assert list(Case.objects.all()) == [case]


def test_a_setting_with_a_bad_priority_is_logged_not_raised(db, caplog):
    ChannelCaseSetting.objects.create(channel="email", opens_cases=True, priority="whenever")
    thread, message = _new_conversation()

    intake.on_message_received(_received(thread, message))

    assert not Case.objects.exists()
    assert "case intake skipped" in caplog.text


# --- repeat contacts from new conversations ------------------------------------------------------------------------


def test_a_new_conversation_about_an_open_case_joins_it_as_a_repeat_contact(
    email_opens_cases, events, django_capture_on_commit_callbacks
):
    # given: an open case about the double charge, on an earlier conversation
    first, _ = _new_conversation(subject="Charged twice", body=COMPLAINT)
    case = _case_on(first, "open")
    thread, message = _new_conversation(first.customer, subject="Still no refund", body=COMPLAINT_AGAIN)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = intake.handle_message(thread.public_id, message.public_id)

    # then: no second case; the conversation serves the open case
    assert result.outcome == intake.FOLDED
    assert Case.objects.count() == 1
    thread.refresh_from_db()
    message.refresh_from_db()
    case.refresh_from_db()
    assert thread.case_ref == case.public_id
    assert message.case_ref == case.public_id
    assert CaseConversation.objects.filter(case=case).count() == 2
    repeat = RepeatContact.objects.get()
    assert (repeat.case_id, repeat.previous_case_id, repeat.matched_by) == (case.pk, case.pk, "text")
    assert repeat.interaction_ref == message.public_id
    assert case.repeat_count == 1
    assert case.last_customer_message_at == message.occurred_at
    detected = [e for e in events if e.name == "case.repeat_contact"]
    assert [e.interaction_id for e in detected] == [message.public_id]  # type: ignore[attr-defined]


def test_a_new_conversation_about_a_resolved_case_reopens_it(
    email_opens_cases, events, django_capture_on_commit_callbacks
):
    first, _ = _new_conversation()
    case = _case_on(first, "resolved", resolved_at=clock.now() - timedelta(days=1))
    thread, message = _new_conversation(first.customer, subject="Refund?", body=COMPLAINT_AGAIN)

    with django_capture_on_commit_callbacks(execute=True):
        intake.handle_message(thread.public_id, message.public_id)

    case.refresh_from_db()
    assert (case.status, case.reopen_count, case.repeat_count) == ("open", 1, 1)
    assert case.resolved_at is None
    reopened = [e for e in events if e.name == "case.reopened"]
    assert [e.reason for e in reopened] == ["repeat contact"]  # type: ignore[attr-defined]
    assert Case.objects.count() == 1


def test_a_new_conversation_on_another_matter_opens_its_own_case(email_opens_cases):
    first, _ = _new_conversation()
    earlier = _case_on(first, "open")
    thread, message = _new_conversation(first.customer, subject="New address", body=OTHER_MATTER)

    intake.handle_message(thread.public_id, message.public_id)

    new = Case.objects.exclude(pk=earlier.pk).get()
    assert new.is_repeat_contact is False
    assert not RepeatContact.objects.exists()


def test_a_new_conversation_about_a_case_resolved_before_the_window_opens_a_new_case(email_opens_cases, settings):
    settings.CXLOOP_REPEAT_CONTACT_DAYS = 7
    first, _ = _new_conversation()
    old = _case_on(first, "closed", resolved_at=clock.now() - timedelta(days=20))
    Case.objects.filter(pk=old.pk).update(opened_at=clock.now() - timedelta(days=25))
    thread, message = _new_conversation(first.customer, subject="Charged twice", body=COMPLAINT_AGAIN)

    intake.handle_message(thread.public_id, message.public_id)

    assert Case.objects.exclude(pk=old.pk).get().is_repeat_contact is False


def test_a_new_conversation_about_a_closed_case_opens_a_case_flagged_as_its_repeat(email_opens_cases):
    first, _ = _new_conversation()
    closed = _case_on(first, "closed", closed_at=clock.now() - timedelta(days=1))
    thread, message = _new_conversation(first.customer, subject="Refund?", body=COMPLAINT_AGAIN)

    result = intake.handle_message(thread.public_id, message.public_id)

    assert result.outcome == intake.OPENED
    assert result.case is not None
    repeat = RepeatContact.objects.get(case=result.case)
    assert (repeat.previous_case_id, repeat.matched_by) == (closed.pk, "text")
    assert repeat.interaction_ref == message.public_id


# --- a closed case's conversation -----------------------------------------------------------------------------------


def test_a_message_on_a_closed_cases_conversation_opens_a_new_case_as_its_repeat(email_opens_cases):
    thread, _ = _new_conversation()
    closed = _case_on(thread, "closed", closed_at=clock.now() - timedelta(days=1))
    message = _message(thread, "Hello again, one more thing.")

    result = intake.handle_message(thread.public_id, message.public_id)

    assert result.outcome == intake.OPENED
    new = result.case
    assert new is not None
    thread.refresh_from_db()
    message.refresh_from_db()
    closed.refresh_from_db()
    assert thread.case_ref == new.public_id
    assert message.case_ref == new.public_id  # the message that came back belongs to the new case
    assert new.is_repeat_contact is True
    repeat = RepeatContact.objects.get(case=new)
    assert (repeat.previous_case_id, repeat.matched_by) == (closed.pk, "conversation")
    assert closed.repeat_count == 1
    assert (closed.status, closed.version) == ("closed", 1)
    # redelivered: the conversation now serves the new (open) case, nothing more happens
    assert intake.handle_message(thread.public_id, message.public_id).outcome == intake.IGNORED
    assert Case.objects.count() == 2


def test_without_case_opening_a_closed_cases_conversation_goes_back_to_the_inbox(db):
    thread, earlier = _new_conversation()
    closed = _case_on(thread, "closed", closed_at=clock.now() - timedelta(days=1))
    message = _message(thread, "Hello again, one more thing.")

    result = intake.handle_message(thread.public_id, message.public_id)

    assert result.outcome == intake.RELEASED
    thread.refresh_from_db()
    message.refresh_from_db()
    earlier.refresh_from_db()
    assert thread.case_ref == ""
    assert message.case_ref == ""
    assert earlier.case_ref == closed.public_id  # the closed case keeps its history
    assert AuditEntry.objects.filter(action="case.conversation_released", object_id=closed.public_id).count() == 1
    assert Case.objects.count() == 1


# --- auto-close -----------------------------------------------------------------------------------------------------


def test_resolved_cases_close_after_the_configured_days(db, settings, events, django_capture_on_commit_callbacks):
    settings.CXLOOP_CASE_AUTO_CLOSE_DAYS = 5
    now = clock.now()
    old = CaseFactory(status="resolved", resolved_at=now - timedelta(days=6))
    recent = CaseFactory(status="resolved", resolved_at=now - timedelta(days=4))
    still_open = CaseFactory(status="open", opened_at=now - timedelta(days=30))

    with django_capture_on_commit_callbacks(execute=True):
        closed = intake.close_resolved_cases(at=now)

    assert closed == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    still_open.refresh_from_db()
    assert (old.status, old.closed_at, old.version) == ("closed", now, 2)
    assert (recent.status, still_open.status) == ("resolved", "open")
    audit = AuditEntry.objects.get(action="case.status_changed", object_id=old.public_id)
    assert (audit.before, audit.after, audit.via) == ({"status": "resolved"}, {"status": "closed"}, "cases:intake")
    assert [(e.name, e.case_id) for e in events if e.name.startswith("case.")] == [  # type: ignore[attr-defined]
        ("case.status_changed", old.public_id),
        ("case.closed", old.public_id),
    ]
    assert intake.close_resolved_cases(at=now) == 0


def test_auto_close_in_batches_and_never_when_set_to_zero(db, settings, monkeypatch):
    now = clock.now()
    CaseFactory.create_batch(5, status="resolved", resolved_at=now - timedelta(days=10))
    settings.CXLOOP_CASE_AUTO_CLOSE_DAYS = 0
    assert intake.close_resolved_cases(at=now) == 0

    settings.CXLOOP_CASE_AUTO_CLOSE_DAYS = 5
    monkeypatch.setattr(intake, "CLOSE_BATCH", 2)
    assert intake.close_resolved_cases(at=now) == 5
    assert set(Case.objects.values_list("status", flat=True)) == {CaseStatus.CLOSED}


def test_the_close_resolved_task_reports_how_many_it_closed(db, settings):
    settings.CXLOOP_CASE_AUTO_CLOSE_DAYS = 5
    CaseFactory(status="resolved", resolved_at=clock.now() - timedelta(days=9))

    assert close_resolved.call() == {"closed": 1}


# --- through the real email pipeline --------------------------------------------------------------------------------


def _email(subject: str, body: str, *, headers: dict[str, str] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ann Lee <ann@example.com>"
    msg["To"] = "support@shop.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg)


def _receive(data: bytes) -> None:
    channel_services.receive(RawPayload(channel="email", data=data, content_type="message/rfc822", source="test"))


@pytest.mark.django_db(transaction=True)
def test_the_same_complaint_emailed_twice_in_a_week_joins_the_first_case_as_a_repeat(events):
    # given: email opens cases (a transactional test starts without the migrations' goals)
    GoalFactory(key="care")
    ChannelCaseSetting.objects.create(channel="email", opens_cases=True)

    # when: the complaint comes in, then again under another subject (a new conversation), and an auto-reply
    _receive(_email("Charged twice", COMPLAINT))
    _receive(_email("Where is my refund", COMPLAINT_AGAIN))
    _receive(_email("Automatic reply: Charged twice", "I am away.", headers={"Auto-Submitted": "auto-replied"}))

    # then: one case, serving both conversations, with the second one as its repeat contact
    case = Case.objects.get()
    assert case.source_channel == "email"
    assert Thread.objects.filter(case_ref=case.public_id).count() == 2
    second = Interaction.objects.get(body__startswith="Second time")
    assert second.case_ref == case.public_id
    repeat = RepeatContact.objects.get()
    assert (repeat.case_id, repeat.matched_by, repeat.interaction_ref) == (case.pk, "text", second.public_id)
    case.refresh_from_db()
    assert case.repeat_count == 1
    assert [e.name for e in events].count("case.opened") == 1
    assert [e.name for e in events].count("case.repeat_contact") == 1
