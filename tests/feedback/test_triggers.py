# ruff: noqa: F811 (the messaging fixtures are imported by name)
"""Survey triggers: a resolved case invites its customer after the delay (once per case), the end of a chat
invites in the chat, any event with a customer id invites by the generic path; conditions narrow them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cxloop.cases.services import cases as case_services
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.events import bus
from cxloop.events.bus import DomainEvent
from cxloop.feedback import tasks
from cxloop.feedback.models import Invitation, Survey, SurveyTrigger
from cxloop.feedback.services import invitations, triggers
from cxloop.feedback.services import surveys as survey_services
from cxloop.feedback.services.triggers import TriggerChanges, TriggerInput
from cxloop.interactions import conversations
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory, CategoryFactory, GoalFactory
from tests.messaging.conftest import _messaging_settings, ann, frozen, make_customer, received, senders  # noqa: F401

NOW = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _settings(settings, frozen):
    settings.CXLOOP_SURVEY_FATIGUE_DAYS = 30
    frozen(NOW)
    triggers.forget_event_names()
    yield
    triggers.forget_event_names()


@pytest.fixture
def csat(db, system) -> Survey:
    survey = survey_services.create_survey(
        system, survey_services.SurveyInput(key="csat-after-case", name="CSAT after a case", kind="csat")
    )
    return survey_services.activate_survey(system, survey)


def _trigger(actor, survey, **fields) -> SurveyTrigger:  # type: ignore[no-untyped-def]
    trigger = triggers.create_trigger(actor, survey, TriggerInput(**fields))
    triggers.forget_event_names()  # what the commit of create_trigger does
    return trigger


def _resolve(case, actor, commit):  # type: ignore[no-untyped-def]
    with commit(execute=True):
        return case_services.change_status(actor, case, "resolved", goal_achieved=True)


def test_a_resolved_case_invites_its_customer_after_the_delay(
    senders, ann, csat, bob, alice, team_a, frozen, django_capture_on_commit_callbacks, received
):
    # given
    _trigger(bob.actor, csat, event_name="case.resolved", delay_minutes=60)
    case = CaseFactory(customer=ann, goal=GoalFactory(key="refund"), owner=alice.user, team=team_a)

    # when
    _resolve(case, alice.actor, django_capture_on_commit_callbacks)

    # then: scheduled, not sent yet
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.send_at, invitation.trigger, invitation.trigger_ref) == (
        "scheduled",
        NOW + timedelta(hours=1),
        "event",
        f"case:{case.public_id}",
    )
    assert (invitation.case_ref, invitation.agent, invitation.team, invitation.goal_key, invitation.channel) == (
        case.public_id,
        alice.user,
        team_a,
        "refund",
        "email",
    )
    frozen(NOW + timedelta(minutes=59))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_due_invitations.call() == {"sent": 0, "skipped": 0, "failed": 0}
    assert senders.all_sent() == []

    frozen(NOW + timedelta(minutes=60))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_due_invitations.call() == {"sent": 1, "skipped": 0, "failed": 0}
    invitation.refresh_from_db()
    assert invitation.status == "sent"
    [payload] = senders["email"].sent
    assert payload.to == "ann@example.com"
    assert "?score=5" in payload.text
    message = invitation.message_ref
    assert message
    from cxloop.messaging.models import OutboundMessage

    assert OutboundMessage.objects.get(public_id=message).automated is True
    assert [e.name for e in received if e.name == "survey.sent"] == ["survey.sent"]


def test_a_case_resolved_again_after_reopening_invites_once(
    senders, ann, csat, bob, alice, django_capture_on_commit_callbacks
):
    _trigger(bob.actor, csat, event_name="case.resolved")
    case = CaseFactory(customer=ann)

    _resolve(case, alice.actor, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.change_status(alice.actor, case, "open", reason="not fixed")
    _resolve(case, alice.actor, django_capture_on_commit_callbacks)

    assert Invitation.objects.count() == 1
    assert len(senders["email"].sent) == 1  # no delay: sent at once by the send_invitation task


def test_a_triggered_invitation_within_the_fatigue_window_is_skipped_with_the_reason(
    senders, ann, csat, bob, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invite(alice.actor, csat, ann, channel="sms")
    _trigger(bob.actor, csat, event_name="case.resolved")
    case = CaseFactory(customer=ann)

    _resolve(case, alice.actor, django_capture_on_commit_callbacks)

    triggered = Invitation.objects.get(trigger="event")
    assert triggered.status == "skipped"
    assert "at most one of any survey per 30 days" in triggered.skip_reason
    assert len(senders.all_sent()) == 1


def test_conditions_narrow_a_trigger_to_goals_and_categories(
    senders, ann, csat, bob, alice, django_capture_on_commit_callbacks
):
    billing = CategoryFactory(key="billing")
    _trigger(bob.actor, csat, event_name="case.resolved", conditions={"goals": ["refund"], "categories": ["billing"]})
    other = make_customer("Bo Berg", email="bo@example.com")
    wrong_goal = CaseFactory(customer=other, goal=GoalFactory(key="care"), category=billing)
    matching = CaseFactory(customer=ann, goal=GoalFactory(key="refund"), category=billing)

    _resolve(wrong_goal, alice.actor, django_capture_on_commit_callbacks)
    _resolve(matching, alice.actor, django_capture_on_commit_callbacks)

    assert list(Invitation.objects.values_list("case_ref", flat=True)) == [matching.public_id]


def test_an_inactive_trigger_or_a_draft_survey_invites_nobody(
    senders, ann, csat, bob, alice, system, django_capture_on_commit_callbacks
):
    trigger = _trigger(bob.actor, csat, event_name="case.resolved")
    triggers.update_trigger(bob.actor, trigger, TriggerChanges(is_active=False))
    triggers.forget_event_names()
    draft = survey_services.create_survey(system, survey_services.SurveyInput(key="d", name="Draft", kind="nps"))
    _trigger(bob.actor, draft, event_name="case.resolved")

    _resolve(CaseFactory(customer=ann), alice.actor, django_capture_on_commit_callbacks)

    assert Invitation.objects.count() == 0


def test_the_end_of_a_chat_invites_in_that_chat(senders, ann, csat, bob, alice, django_capture_on_commit_callbacks):
    _trigger(bob.actor, csat, event_name="chat.ended")
    thread = conversations.open_thread(ann, "chat", subject="", normalized_subject="", external_ref="chs_1", at=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        conversations.set_thread_status(alice.actor, thread, "closed")

    invitation = Invitation.objects.get()
    assert (invitation.trigger, invitation.trigger_ref, invitation.thread_ref, invitation.channel) == (
        "chat_end",
        f"chat:{thread.public_id}",
        thread.public_id,
        "chat",
    )


def test_an_email_conversation_closing_is_not_the_end_of_a_chat(
    senders, ann, csat, bob, alice, django_capture_on_commit_callbacks
):
    _trigger(bob.actor, csat, event_name="chat.ended")
    thread = conversations.open_thread(ann, "email", subject="Hi", normalized_subject="hi", external_ref="m1", at=NOW)

    with django_capture_on_commit_callbacks(execute=True):
        conversations.set_thread_status(alice.actor, thread, "closed")

    assert Invitation.objects.count() == 0


def test_any_event_with_a_customer_id_invites_by_the_generic_path(senders, ann, csat, bob, frozen):
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True)
    class PurchaseCompleted(DomainEvent):
        name: ClassVar[str] = "purchase.completed"
        customer_id: str = ""
        order_id: str = ""
        store: str = ""

    _trigger(
        bob.actor,
        csat,
        event_name="purchase.completed",
        delay_minutes=7 * 24 * 60,
        conditions={"payload": {"store": ["web"]}},
    )

    bus._deliver(PurchaseCompleted(customer_id=ann.public_id, order_id="o-1", store="shop"))
    bus._deliver(PurchaseCompleted(customer_id=ann.public_id, order_id="o-2", store="web"))
    bus._deliver(PurchaseCompleted(customer_id=ann.public_id, order_id="o-2", store="web"))  # delivered twice

    invitation = Invitation.objects.get()
    assert (invitation.trigger_ref, invitation.status, invitation.send_at) == (
        "purchase.completed:o-2",
        "scheduled",
        NOW + timedelta(days=7),
    )


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"event_name": "Case Resolved"}, {"event_name"}),
        ({"event_name": "case.resolved", "delay_minutes": -1}, {"delay_minutes"}),
        ({"event_name": "case.resolved", "channel": "fax"}, {"channel"}),
        ({"event_name": "chat.ended", "channel": "email"}, {"channel"}),
        ({"event_name": "purchase.completed", "conditions": {"goals": ["refund"]}}, {"conditions.goals"}),
        ({"event_name": "case.resolved", "conditions": {"goals": []}}, {"conditions.goals"}),
        ({"event_name": "case.resolved", "conditions": {"colour": ["red"]}}, {"conditions.colour"}),
        ({"event_name": "x.y", "conditions": {"payload": {"store": "web"}}}, {"conditions.payload.store"}),
    ],
)
def test_bad_triggers_are_refused_with_the_path(csat, bob, fields, errors):
    with pytest.raises(ValidationError) as refused:
        triggers.create_trigger(bob.actor, csat, TriggerInput(**fields))

    assert set(refused.value.fields) == errors
    assert SurveyTrigger.objects.count() == 0


def test_trigger_changes_are_audited_and_need_feedback_manage(csat, bob, alice):
    with pytest.raises(PermissionDeniedError):
        triggers.create_trigger(alice.actor, csat, TriggerInput(event_name="case.resolved"))

    trigger = triggers.create_trigger(bob.actor, csat, TriggerInput(event_name="case.resolved"))
    triggers.update_trigger(bob.actor, trigger, TriggerChanges(delay_minutes=30))
    triggers.delete_trigger(bob.actor, trigger)

    assert list(
        AuditEntry.objects.filter(object_type="survey", action__startswith="survey.trigger")
        .values_list("action", flat=True)
        .order_by("id")
    ) == ["survey.trigger_created", "survey.trigger_updated", "survey.trigger_deleted"]
    assert SurveyTrigger.objects.count() == 0
