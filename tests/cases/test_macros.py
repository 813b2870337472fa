"""Macros and bulk actions: each case succeeds or fails on its own, through the ordinary case services."""

from __future__ import annotations

import pytest

from cxloop.cases.models import Case, CaseTask, Handover
from cxloop.cases.services import macros
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.interactions import queries as interaction_queries
from cxloop.interactions.models import Interaction
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory, CategoryFactory, MacroFactory


def test_a_macro_runs_every_action_on_every_case(alice):
    # given
    category = CategoryFactory(key="billing")
    macro = MacroFactory(
        name="Billing triage",
        actions=[
            {"type": "set_category", "value": "billing"},
            {"type": "set_priority", "value": "high"},
            {"type": "add_task", "title": "Check invoice", "due_in_hours": 4},
            {"type": "add_note", "body": "Triaged as billing"},
        ],
    )
    cases = [CaseFactory(), CaseFactory()]

    # when
    results = macros.apply_macro(alice.actor, macro, cases)

    # then
    assert [(r.case_id, r.ok) for r in results] == [(c.public_id, True) for c in cases]
    for case in cases:
        case.refresh_from_db()
        assert (case.category, case.priority, case.version) == (category, "high", 3)
        assert list(case.tasks.values_list("title", flat=True)) == ["Check invoice"]
        note = Interaction.objects.get(case_ref=case.public_id)
        assert (note.channel, note.direction, note.body, note.thread_id) == (
            "note",
            "internal",
            "Triaged as billing",
            None,
        )
    assert AuditEntry.objects.filter(action="macro.applied", object_id=str(macro.pk)).count() == 1


def test_one_failing_case_leaves_itself_unchanged_and_the_others_go_on(alice):
    # given: closing is legal from new but not from open
    macro = MacroFactory(
        actions=[{"type": "set_priority", "value": "urgent"}, {"type": "set_status", "value": "closed"}]
    )
    fresh, busy = CaseFactory(status="new"), CaseFactory(status="open")

    # when
    results = macros.apply_macro(alice.actor, macro, [busy, fresh])

    # then
    refused, done = results
    assert (refused.ok, refused.code, refused.number) == (False, "illegal_transition", busy.pk)
    assert refused.fields == {"status": "allowed: waiting_on_customer, waiting_on_us, resolved"}
    assert done.ok
    busy.refresh_from_db()
    fresh.refresh_from_db()
    assert (busy.priority, busy.status, busy.version) == ("normal", "open", 1)
    assert (fresh.priority, fresh.status) == ("urgent", "closed")


def test_a_switched_off_macro_does_not_run(alice):
    macro = MacroFactory(is_active=False)
    case = CaseFactory()
    with pytest.raises(ValidationError) as refused:
        macros.apply_macro(alice.actor, macro, [case])
    assert refused.value.fields == {"macro": "is not active"}
    case.refresh_from_db()
    assert case.priority == "normal"


def test_bulk_update_reports_unknown_cases_and_accepts_numbers(alice):
    # given
    case = CaseFactory()

    # when
    results = macros.bulk_update(
        alice.actor, [f"#{case.pk}", "case_nope", case.public_id], [{"type": "set_priority", "value": "low"}]
    )

    # then
    assert [(r.case_id, r.ok, r.code) for r in results] == [
        (case.public_id, True, ""),
        ("case_nope", False, "not_found"),
    ]
    case.refresh_from_db()
    assert case.priority == "low"


def test_bulk_actions_are_checked_before_anything_runs(alice):
    case = CaseFactory()
    with pytest.raises(ValidationError) as refused:
        macros.bulk_update(alice.actor, [case.public_id], [{"type": "set_priority", "value": "asap"}])
    assert refused.value.fields == {"actions[0].value": "must be one of low, normal, high, urgent"}
    with pytest.raises(ValidationError) as empty:
        macros.bulk_update(alice.actor, [case.public_id], [])
    assert empty.value.fields == {"actions": "must be a non-empty list"}


def test_assigning_many_cases_needs_the_assign_permission(alice, bob):
    cases = [CaseFactory(status="new"), CaseFactory(status="new")]
    with pytest.raises(PermissionDeniedError):
        macros.bulk_update(alice.actor, [c.public_id for c in cases], [{"type": "assign", "owner": "alice"}])
    assert Case.objects.filter(owner__isnull=False).count() == 0
    results = macros.bulk_update(bob.actor, [c.public_id for c in cases], [{"type": "assign", "owner": "alice"}])
    assert all(r.ok for r in results)
    assert Case.objects.filter(owner=alice.user).count() == 2


def test_an_agent_takes_one_case_in_bulk(alice):
    case = CaseFactory(status="new")
    (result,) = macros.bulk_update(alice.actor, [case.public_id], [{"type": "assign", "owner": "alice"}])
    assert result.ok
    case.refresh_from_db()
    assert case.owner == alice.user


def test_bulk_reassignment_of_owned_cases_needs_a_note(alice, bob):
    # given
    owned, unowned = CaseFactory(owner=alice.user), CaseFactory(status="new")

    # when
    results = macros.bulk_update(bob.actor, [owned.public_id, unowned.public_id], [{"type": "assign", "owner": "bob"}])

    # then
    assert [(r.ok, r.code) for r in results] == [(False, "handover_note_required"), (True, "")]
    owned.refresh_from_db()
    assert owned.owner == alice.user

    # when: with a note, the owned case is handed over with a summary
    results = macros.bulk_update(bob.actor, [owned.public_id], [{"type": "assign", "owner": "bob", "note": "Cover"}])
    assert results[0].ok
    handover = Handover.objects.get(case=owned)
    assert (handover.to_user, handover.note, handover.summary["note"]) == (bob.user, "Cover", "Cover")


def test_analyst_cannot_run_bulk_actions(charlie):
    case = CaseFactory()
    with pytest.raises(PermissionDeniedError):
        macros.bulk_update(charlie.actor, [case.public_id], [{"type": "set_priority", "value": "low"}])
    case.refresh_from_db()
    assert case.priority == "normal"
    assert not AuditEntry.objects.filter(action="cases.bulk_updated").exists()


def test_a_note_without_a_conversation_shows_on_the_case_timeline(alice):
    # given
    case = CaseFactory()

    # when
    note = macros.add_case_note(alice.actor, case, "  Spoke to the courier  ")

    # then
    page = interaction_queries.case_timeline(alice.actor, case.public_id)
    assert [i.pk for i in page.items] == [note.pk]
    assert (note.body, note.case_ref, note.metadata) == ("Spoke to the courier", case.public_id, {"kind": "note"})


def test_an_empty_note_is_refused(alice):
    with pytest.raises(ValidationError) as refused:
        macros.add_case_note(alice.actor, CaseFactory(), "   ")
    assert list(refused.value.fields) == ["body"]
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ({"type": "assign", "owner": None}, {"actions[0].owner": "give an owner or a team"}),
        ({"type": "assign", "owner": "ghost"}, {"actions[0].owner": "no active user with that username"}),
        ({"type": "assign", "owner": None, "team": 999999}, {"actions[0].team": "no team with that id"}),
        (
            {"type": "add_task", "title": "x", "due_in_hours": 0},
            {"actions[0].due_in_hours": "must be a whole number of hours between 1 and 8760"},
        ),
        ({"type": "set_category", "value": "nope"}, {"actions[0].value": "no active category with that key"}),
        (
            {"type": "set_status", "value": "done"},
            {"actions[0].value": "must be one of new, open, waiting_on_customer, waiting_on_us, resolved, closed"},
        ),
        ({"type": "add_note", "body": ""}, {"actions[0].body": "must be 1 to 50000 characters"}),
        ("set_priority", {"actions[0]": "must be an object"}),
    ],
)
def test_check_actions_names_the_field(db, action, fields):
    with pytest.raises(ValidationError) as refused:
        macros.check_actions([action])
    assert refused.value.fields == fields


def test_clearing_the_category_in_bulk(alice):
    case = CaseFactory(category=CategoryFactory(key="old"))
    (result,) = macros.bulk_update(alice.actor, [case.public_id], [{"type": "set_category", "value": None}])
    assert result.ok
    case.refresh_from_db()
    assert case.category is None
    assert CaseTask.objects.count() == 0
