"""The case lifecycle services: opening, the state machine, optimistic locking, assignment and warm hand-overs,
conversation links, and how a case follows its messages (the activity subscriber)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.cases import statuses
from cxloop.cases.errors import (
    CaseClosedError,
    HandoverNoteRequiredError,
    IllegalTransitionError,
    StaleVersionError,
)
from cxloop.cases.models import Case, CaseStatus, Handover, Promise
from cxloop.cases.services import cases as case_services
from cxloop.core import clock
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.interactions import conversations
from cxloop.interactions.models import Interaction
from cxloop.interactions.services import record_interaction
from cxloop.interactions.types import InteractionInput
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import (
    CaseFactory,
    CaseFieldDefinitionFactory,
    CaseTemplateFactory,
    CaseTemplateTaskFactory,
    CategoryFactory,
    GoalFactory,
)
from tests.customers.factories import CustomerFactory, IdentityFactory
from tests.interactions.factories import InteractionFactory, ThreadFactory

ALL = CaseStatus.values
ILLEGAL = [(a, b) for a in ALL for b in ALL if a != b and b not in statuses.TRANSITIONS[a]]
LEGAL = [(a, b) for a in ALL for b in statuses.TRANSITIONS[a]]


def _open(actor, **kwargs) -> Case:  # type: ignore[no-untyped-def]
    data = {"customer": kwargs.pop("customer", None) or CustomerFactory(), "subject": "Card declined", **kwargs}
    return case_services.open_case(actor, case_services.CaseInput(**data))


# --- opening ----------------------------------------------------------------------------------------------------


def test_open_case_without_owner_is_new_and_serves_care(alice):
    # when
    case = _open(alice.actor, route=False)

    # then
    assert case.status == CaseStatus.NEW
    assert case.goal.key == "care"
    assert case.version == 1
    assert case.owner is None
    assert AuditEntry.objects.filter(action="case.opened", object_id=case.public_id).count() == 1


def test_open_case_for_oneself_is_open_and_takes_the_category_goal(alice):
    # given
    category = CategoryFactory(key="upgrade", goal=GoalFactory(key="grow"))

    # when
    case = _open(alice.actor, owner=alice.user, category=category)

    # then
    assert case.status == CaseStatus.OPEN
    assert case.owner == alice.user
    assert case.team == alice.user.team
    assert case.goal.key == "grow"


def test_open_case_seeds_the_plan_of_the_best_template(alice):
    # given
    category = CategoryFactory(key="refund")
    generic = CaseTemplateFactory(name="Care", goal=GoalFactory(key="care"))
    CaseTemplateTaskFactory(template=generic, title="Generic step")
    specific = CaseTemplateFactory(name="Refund", category=category)
    CaseTemplateTaskFactory(template=specific, title="Check the payment", position=0, due_after_hours=4)
    CaseTemplateTaskFactory(template=specific, title="Refund", position=1)

    # when
    case = _open(alice.actor, category=category, route=False)

    # then
    tasks = list(case.tasks.order_by("position"))
    assert [t.title for t in tasks] == ["Check the payment", "Refund"]
    assert tasks[0].due_at == case.opened_at + timedelta(hours=4)


@pytest.mark.parametrize(("subject", "reason"), [("   ", "must not be empty"), ("x" * 301, "at most 300 characters")])
def test_open_case_refuses_a_bad_subject(alice, subject, reason):
    # when
    with pytest.raises(ValidationError) as refused:
        _open(alice.actor, subject=subject)

    # then
    assert refused.value.fields == {"subject": reason}
    assert Case.objects.count() == 0


def test_analyst_cannot_open_a_case(charlie):
    with pytest.raises(PermissionDeniedError):
        _open(charlie.actor)
    assert Case.objects.count() == 0


def test_agent_cannot_open_a_case_for_someone_else(alice, bob):
    with pytest.raises(PermissionDeniedError):
        _open(alice.actor, owner=bob.user)
    assert Case.objects.count() == 0


# --- the state machine ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "requested"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_is_refused_with_the_allowed_ones(alice, current, requested):
    # given
    case = CaseFactory(status=current)

    # when
    with pytest.raises(IllegalTransitionError) as refused:
        case_services.change_status(alice.actor, case, requested)

    # then
    expected = tuple(str(s) for s in statuses.TRANSITIONS[current])
    assert refused.value.allowed == expected
    assert refused.value.status == 409
    assert refused.value.fields == {"status": f"allowed: {', '.join(expected) or 'none'}"}
    case.refresh_from_db()
    assert (case.status, case.version) == (current, 1)


@pytest.mark.parametrize(("current", "requested"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_every_legal_transition_is_made_and_raises_the_version(alice, current, requested):
    # given
    case = CaseFactory(status=current)

    # when
    changed = case_services.change_status(alice.actor, case, requested)

    # then
    assert changed.status == requested
    assert changed.version == 2
    assert AuditEntry.objects.filter(action="case.status_changed", object_id=case.public_id).count() == 1


def test_resolving_records_the_outcome_and_reopening_clears_it(alice):
    # given
    case = CaseFactory(status="open")

    # when
    resolved = case_services.change_status(alice.actor, case, "resolved", goal_achieved=True, outcome=" Refunded ")
    reopened = case_services.change_status(alice.actor, resolved, "open", reason="still broken")

    # then
    assert (resolved.goal_achieved, resolved.outcome) == (True, "Refunded")
    assert resolved.resolved_at is not None
    assert (reopened.goal_achieved, reopened.outcome, reopened.resolved_at) == (None, "", None)
    assert reopened.reopen_count == 1


def test_a_required_field_must_be_filled_before_resolving(alice):
    # given
    CaseFieldDefinitionFactory(key="root_cause", required_to_resolve=True)
    case = CaseFactory(status="open")

    # when
    with pytest.raises(ValidationError) as refused:
        case_services.change_status(alice.actor, case, "resolved")

    # then
    assert refused.value.fields == {"custom_fields.root_cause": "required"}
    case.refresh_from_db()
    assert case.status == "open"


def test_an_unknown_status_is_a_validation_error(alice):
    with pytest.raises(ValidationError) as refused:
        case_services.change_status(alice.actor, CaseFactory(), "done")
    assert list(refused.value.fields) == ["status"]


# --- optimistic locking -----------------------------------------------------------------------------------------


def test_a_change_based_on_an_old_version_is_refused(alice, bob):
    # given: alice and bob both read version 1; bob saves first
    case = CaseFactory(subject="Old")
    case_services.update_case(bob.actor, case, case_services.CaseChanges(priority="high"), expected_version=1)

    # when
    with pytest.raises(StaleVersionError) as refused:
        case_services.update_case(alice.actor, case, case_services.CaseChanges(subject="New"), expected_version=1)

    # then
    assert refused.value.status == 409
    assert refused.value.fields == {"version": "current version is 2"}
    case.refresh_from_db()
    assert (case.subject, case.priority, case.version) == ("Old", "high", 2)


def test_status_and_assignment_check_the_version_too(alice, bob):
    case = CaseFactory(status="open", owner=alice.user)
    with pytest.raises(StaleVersionError):
        case_services.change_status(alice.actor, case, "resolved", expected_version=7)
    with pytest.raises(StaleVersionError):
        case_services.assign_case(bob.actor, case, owner=bob.user, note="yours", expected_version=7)
    case.refresh_from_db()
    assert (case.status, case.owner, case.version) == ("open", alice.user, 1)


def test_an_update_that_changes_nothing_keeps_the_version(alice):
    case = CaseFactory(subject="Same")
    unchanged = case_services.update_case(alice.actor, case, case_services.CaseChanges(subject="  Same "))
    assert unchanged.version == 1


def test_a_closed_case_cannot_be_edited(alice):
    with pytest.raises(CaseClosedError):
        case_services.update_case(alice.actor, CaseFactory(status="closed"), case_services.CaseChanges(subject="x"))


# --- assignment and hand-overs ----------------------------------------------------------------------------------


def test_agent_takes_an_unassigned_case_without_a_note(alice):
    # given
    case = CaseFactory(status="new")

    # when
    taken = case_services.assign_case(alice.actor, case, owner=alice.user)

    # then
    assert (taken.owner, taken.status, taken.handover_count) == (alice.user, "open", 0)
    assert Handover.objects.count() == 0


def test_agent_cannot_give_an_unassigned_case_to_someone_else(alice, bob):
    case = CaseFactory(status="new")
    with pytest.raises(PermissionDeniedError):
        case_services.assign_case(alice.actor, case, owner=bob.user)
    case.refresh_from_db()
    assert case.owner is None


def test_agent_cannot_take_a_colleagues_case(alice, bob):
    case = CaseFactory(owner=bob.user)
    with pytest.raises(PermissionDeniedError):
        case_services.assign_case(alice.actor, case, owner=alice.user, note="mine now")
    case.refresh_from_db()
    assert case.owner == bob.user


def test_analyst_cannot_assign_at_all(charlie):
    case = CaseFactory(status="new")
    with pytest.raises(PermissionDeniedError):
        case_services.assign_case(charlie.actor, case, owner=charlie.user)
    case.refresh_from_db()
    assert case.owner is None


def test_supervisor_moves_anyones_case(alice, bob):
    case = CaseFactory(owner=alice.user, team=alice.user.team)
    moved = case_services.assign_case(bob.actor, case, owner=bob.user, note="Taking over while Alice is away")
    assert moved.owner == bob.user
    assert moved.handover_count == 1


def test_handing_over_needs_a_note(alice, bob):
    # given
    case = CaseFactory(owner=alice.user, team=alice.user.team)

    # when
    with pytest.raises(HandoverNoteRequiredError) as refused:
        case_services.assign_case(alice.actor, case, owner=bob.user, note="   ")

    # then
    assert refused.value.status == 422
    assert refused.value.fields == {"note": "required when the case changes hands"}
    case.refresh_from_db()
    assert (case.owner, case.handover_count, case.version) == (alice.user, 0, 1)
    assert Handover.objects.count() == 0


def test_moving_a_teams_case_to_another_team_is_a_handover(bob, team_b):
    case = CaseFactory(status="open", team=bob.user.team)
    with pytest.raises(HandoverNoteRequiredError):
        case_services.assign_case(bob.actor, case, owner=None, team=team_b)
    moved = case_services.assign_case(bob.actor, case, owner=None, team=team_b, note="Billing handles this")
    assert moved.team == team_b
    assert moved.handover_count == 1


def test_the_handover_summary_carries_what_the_receiver_needs(alice, bob):
    # given: a customer we already asked for the order number, and a promise made to them
    customer = CustomerFactory(name="Ann Lee")
    IdentityFactory(customer=customer, value="ann@example.com")
    case = CaseFactory(customer=customer, owner=alice.user, team=alice.user.team, subject="Parcel lost")
    now = clock.now()
    InteractionFactory(
        customer=customer,
        case_ref=case.public_id,
        direction="inbound",
        summary="My parcel never came",
        occurred_at=now - timedelta(hours=3),
    )
    InteractionFactory(
        customer=customer,
        case_ref=case.public_id,
        direction="outbound",
        body="Sorry to hear that. What is your order number?",
        summary="Sorry to hear that. What is your order number?",
        occurred_at=now - timedelta(hours=2),
    )
    InteractionFactory(
        customer=customer,
        case_ref=case.public_id,
        direction="inbound",
        summary="It is 12345",
        occurred_at=now - timedelta(hours=1),
    )
    Promise.objects.create(
        customer=customer,
        case=case,
        description="Call back on Friday",
        due_at=now + timedelta(days=2),
        made_at=now,
        owner=alice.user,
    )

    # when
    moved = case_services.assign_case(alice.actor, case, owner=bob.user, note="Courier claim is open")

    # then
    handover = Handover.objects.get(case=case)
    assert (handover.from_user, handover.to_user, handover.note) == (alice.user, bob.user, "Courier claim is open")
    summary = handover.summary
    assert summary["note"] == "Courier claim is open"
    assert summary["from"] == "alice"
    assert summary["customer"]["name"] == "Ann Lee"
    assert summary["customer"]["identities"] == [{"kind": "email", "value": "ann@example.com", "verified": False}]
    assert [p["description"] for p in summary["promises"]] == ["Call back on Friday"]
    assert [(qa["asked"], qa["answer"]) for qa in summary["asked_and_answered"]] == [
        ("What is your order number?", "It is 12345")
    ]
    assert [h["summary"] for h in summary["history"]] == [
        "My parcel never came",
        "Sorry to hear that. What is your order number?",
        "It is 12345",
    ]
    assert moved.handover_count == 1
    assert AuditEntry.objects.filter(action="case.handed_over", object_id=case.public_id).count() == 1


def test_only_the_receiver_acknowledges_a_handover(alice, bob):
    # given
    case = CaseFactory(owner=alice.user, team=alice.user.team)
    case_services.assign_case(alice.actor, case, owner=bob.user, note="Over to you")
    handover = Handover.objects.get(case=case)

    # when
    with pytest.raises(PermissionDeniedError):
        case_services.acknowledge_handover(alice.actor, handover)
    acknowledged = case_services.acknowledge_handover(bob.actor, handover)

    # then
    assert acknowledged.acknowledged_at is not None


# --- conversations ----------------------------------------------------------------------------------------------


def test_linking_a_conversation_tags_its_messages_with_the_case(alice):
    # given
    case = CaseFactory()
    thread = ThreadFactory(customer=case.customer)
    earlier = InteractionFactory(customer=case.customer, thread=thread)

    # when
    case_services.link_conversation(alice.actor, case, thread)
    later = record_interaction(
        alice.actor,
        case.customer,
        InteractionInput(channel="email", direction="inbound", body="Any news?"),
        thread=thread,
    )

    # then
    earlier.refresh_from_db()
    thread.refresh_from_db()
    assert (earlier.case_ref, later.case_ref, thread.case_ref) == (case.public_id,) * 3
    assert list(case.conversation_links.values_list("thread_id", flat=True)) == [thread.pk]


def test_unlinking_a_conversation_stops_tagging_new_messages(alice):
    case = CaseFactory()
    thread = ThreadFactory(customer=case.customer)
    case_services.link_conversation(alice.actor, case, thread)
    case_services.unlink_conversation(alice.actor, case, thread)
    later = record_interaction(
        alice.actor, case.customer, InteractionInput(channel="email", direction="inbound", body="Hi"), thread=thread
    )
    assert later.case_ref == ""
    assert case.conversation_links.count() == 0


def test_a_conversation_of_another_customer_cannot_be_linked(alice):
    case = CaseFactory()
    with pytest.raises(ValidationError) as refused:
        case_services.link_conversation(alice.actor, case, ThreadFactory())
    assert refused.value.fields == {"conversation": "other customer"}
    assert case.conversation_links.count() == 0


def test_a_case_cannot_be_its_own_parent_through_a_loop(alice):
    parent, child = CaseFactory(), CaseFactory()
    case_services.link_cases(alice.actor, child, parent, "child_of")
    with pytest.raises(ValidationError) as refused:
        case_services.link_cases(alice.actor, parent, child, "child_of")
    assert refused.value.fields == {"other": "is a child of this case"}


# --- the activity subscriber ------------------------------------------------------------------------------------


def _linked_case(actor, status: str):  # type: ignore[no-untyped-def]
    case = CaseFactory(status=status)
    thread = ThreadFactory(customer=case.customer)
    conversations.link_thread_to_case(thread, case.public_id)
    return case, thread


def _message(actor, case, thread, direction: str) -> Interaction:  # type: ignore[no-untyped-def]
    return record_interaction(
        actor, case.customer, InteractionInput(channel="email", direction=direction, body="Hello"), thread=thread
    )


def test_an_outbound_reply_is_the_first_response(alice, django_capture_on_commit_callbacks):
    # given
    case, thread = _linked_case(alice.actor, "open")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        reply = _message(alice.actor, case, thread, "outbound")

    # then
    case.refresh_from_db()
    assert case.first_response_at == reply.occurred_at
    assert case.last_response_at == reply.occurred_at


def test_an_inbound_message_reopens_a_resolved_case(alice, django_capture_on_commit_callbacks):
    # given
    case, thread = _linked_case(alice.actor, "resolved")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        _message(alice.actor, case, thread, "inbound")

    # then
    case.refresh_from_db()
    assert (case.status, case.reopen_count, case.version) == ("open", 1, 2)


def test_an_inbound_message_brings_a_waiting_case_back_to_open(alice, django_capture_on_commit_callbacks):
    case, thread = _linked_case(alice.actor, "waiting_on_customer")
    with django_capture_on_commit_callbacks(execute=True):
        message = _message(alice.actor, case, thread, "inbound")
    case.refresh_from_db()
    assert (case.status, case.reopen_count) == ("open", 0)
    assert case.last_customer_message_at == message.occurred_at


def test_an_internal_note_is_not_a_response(alice, django_capture_on_commit_callbacks):
    case, thread = _linked_case(alice.actor, "open")
    with django_capture_on_commit_callbacks(execute=True):
        record_interaction(
            alice.actor,
            case.customer,
            InteractionInput(channel="note", direction="internal", body="VIP"),
            thread=thread,
        )
    case.refresh_from_db()
    assert case.first_response_at is None


def test_a_closed_case_ignores_new_messages(alice, django_capture_on_commit_callbacks):
    case, thread = _linked_case(alice.actor, "closed")
    with django_capture_on_commit_callbacks(execute=True):
        _message(alice.actor, case, thread, "inbound")
    case.refresh_from_db()
    assert (case.status, case.version) == ("closed", 1)
