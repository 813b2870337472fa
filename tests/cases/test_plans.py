"""Adaptive plans: seeded from a template, then added to, skipped, completed and reordered per case."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.cases.errors import CaseClosedError
from cxloop.cases.models import CaseTask
from cxloop.cases.services import plans
from cxloop.core import clock
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.events.bus import DomainEvent, subscribe, unsubscribe
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import (
    CaseFactory,
    CaseTemplateFactory,
    CaseTemplateTaskFactory,
    CategoryFactory,
    GoalFactory,
)


def test_the_most_specific_template_wins(db):
    # given
    category = CategoryFactory(key="billing")
    goal = GoalFactory(key="care")
    CaseTemplateFactory(name="Goal only", goal=goal)
    CaseTemplateFactory(name="Category only", category=category)
    both = CaseTemplateFactory(name="Both", goal=goal, category=category)
    CaseTemplateFactory(name="Inactive", goal=goal, category=category, is_active=False)

    # then
    assert plans.template_for(CaseFactory(goal=goal, category=category)) == both


def test_seeding_copies_checklists_owner_and_due_times(alice):
    # given
    template = CaseTemplateFactory(name="Fault")
    CaseTemplateTaskFactory(template=template, title="Diagnose", checklist=["Ask for photos", "Check warranty"])
    CaseTemplateTaskFactory(template=template, title="Fix", due_after_hours=24)
    case = CaseFactory(owner=alice.user)
    at = clock.now()

    # when
    tasks = plans.seed_plan(alice.actor, case, template, at=at)

    # then
    assert [(t.title, t.position, t.owner) for t in tasks] == [("Diagnose", 0, alice.user), ("Fix", 1, alice.user)]
    assert tasks[0].checklist == [{"text": "Ask for photos", "done": False}, {"text": "Check warranty", "done": False}]
    assert (tasks[0].due_at, tasks[1].due_at) == (None, at + timedelta(hours=24))


def test_added_tasks_go_to_the_end(alice, bob):
    # given
    case = CaseFactory()
    first = plans.add_task(alice.actor, case, plans.TaskInput(title="First"))

    # when
    second = plans.add_task(
        alice.actor, case, plans.TaskInput(title="  Call   back ", owner=bob.user, checklist=("a", " "))
    )

    # then
    assert (first.position, second.position) == (0, 1)
    assert (second.title, second.owner, second.checklist) == ("Call back", bob.user, [{"text": "a", "done": False}])
    assert AuditEntry.objects.filter(action="case.task_added", object_id=case.public_id).count() == 2


def test_a_task_needs_a_title(alice):
    case = CaseFactory()
    with pytest.raises(ValidationError) as refused:
        plans.add_task(alice.actor, case, plans.TaskInput(title="  "))
    assert refused.value.fields == {"title": "must not be empty"}
    assert CaseTask.objects.count() == 0


def test_skipping_needs_a_reason(alice):
    task = plans.add_task(alice.actor, CaseFactory(), plans.TaskInput(title="Visit"))
    with pytest.raises(ValidationError) as refused:
        plans.set_task_status(alice.actor, task, "skipped")
    assert refused.value.fields == {"reason": "required when skipping"}
    skipped = plans.set_task_status(alice.actor, task, "skipped", reason="Fixed remotely")
    assert (skipped.status, skipped.skip_reason) == ("skipped", "Fixed remotely")


def test_completing_records_who_and_when_and_publishes(alice, django_capture_on_commit_callbacks):
    # given
    task = plans.add_task(alice.actor, CaseFactory(), plans.TaskInput(title="Refund"))
    seen: list[DomainEvent] = []
    subscribe("case.task_completed", seen.append)

    # when
    try:
        with django_capture_on_commit_callbacks(execute=True):
            done = plans.set_task_status(alice.actor, task, "done")
    finally:
        unsubscribe("case.task_completed", seen.append)

    # then
    assert (done.status, done.completed_by) == ("done", alice.user)
    assert done.completed_at is not None
    assert [e.payload() for e in seen] == [{"case_id": task.case.public_id, "task_id": task.pk, "title": "Refund"}]
    reopened = plans.set_task_status(alice.actor, done, "todo")
    assert (reopened.completed_at, reopened.completed_by) == (None, None)


def test_reorder_names_every_task_once(alice):
    # given
    case = CaseFactory()
    a, b, c = (plans.add_task(alice.actor, case, plans.TaskInput(title=t)) for t in "abc")

    # when
    with pytest.raises(ValidationError) as refused:
        plans.reorder_tasks(alice.actor, case, [c.pk, a.pk])
    reordered = plans.reorder_tasks(alice.actor, case, [c.pk, a.pk, b.pk])

    # then
    assert refused.value.fields == {"task_ids": "must list each task once"}
    assert [t.title for t in reordered] == ["c", "a", "b"]
    assert list(CaseTask.objects.filter(case=case).order_by("position").values_list("title", flat=True)) == [
        "c",
        "a",
        "b",
    ]


def test_a_planned_task_is_skipped_not_removed(alice):
    # given
    template = CaseTemplateFactory()
    CaseTemplateTaskFactory(template=template, title="Planned")
    case = CaseFactory()
    (planned,) = plans.seed_plan(alice.actor, case, template, at=clock.now())
    added = plans.add_task(alice.actor, case, plans.TaskInput(title="Mistake"))

    # when
    with pytest.raises(ValidationError) as refused:
        plans.remove_task(alice.actor, planned)
    plans.remove_task(alice.actor, added)

    # then
    assert refused.value.fields == {"task": "came from the template"}
    assert list(CaseTask.objects.filter(case=case).values_list("title", flat=True)) == ["Planned"]


def test_update_task_clears_owner_and_due_and_checks_the_checklist(alice, bob):
    task = plans.add_task(alice.actor, CaseFactory(), plans.TaskInput(title="T", owner=bob.user, due_at=clock.now()))
    with pytest.raises(ValidationError) as refused:
        plans.update_task(alice.actor, task, checklist=[{"text": " "}])
    assert refused.value.fields == {"checklist.0.text": "must not be empty"}
    updated = plans.update_task(
        alice.actor, task, clear_owner=True, clear_due=True, checklist=[{"text": "x", "done": 1}]
    )
    assert (updated.owner, updated.due_at, updated.checklist) == (None, None, [{"text": "x", "done": True}])


def test_a_closed_case_plan_cannot_change(alice):
    case = CaseFactory(status="closed")
    with pytest.raises(CaseClosedError):
        plans.add_task(alice.actor, case, plans.TaskInput(title="Late"))
    assert CaseTask.objects.count() == 0


def test_analyst_cannot_change_a_plan(alice, charlie):
    case = CaseFactory()
    task = plans.add_task(alice.actor, case, plans.TaskInput(title="Mine"))
    with pytest.raises(PermissionDeniedError):
        plans.add_task(charlie.actor, case, plans.TaskInput(title="No"))
    with pytest.raises(PermissionDeniedError):
        plans.set_task_status(charlie.actor, task, "done")
    task.refresh_from_db()
    assert (task.status, CaseTask.objects.count()) == ("todo", 1)
