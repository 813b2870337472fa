"""Adaptive plans: a case starts with the tasks of the template for its goal and category; staff then add,
skip, reorder, complete and reassign tasks on each case, because each customer needs something different."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q

from cxloop.accounts.models import User
from cxloop.cases.errors import CaseClosedError
from cxloop.cases.events import TaskCompleted
from cxloop.cases.models import Case, CaseStatus, CaseTask, CaseTemplate, TaskStatus
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.events.bus import publish
from cxloop.privacy.services import record_audit

TITLE_MAX = 200


def template_for(case: Case) -> CaseTemplate | None:
    """The most specific active template: goal and category, then category alone, then goal alone."""
    candidates = CaseTemplate.objects.filter(is_active=True).filter(
        Q(goal_id=case.goal_id) | Q(goal__isnull=True), Q(category_id=case.category_id) | Q(category__isnull=True)
    )
    best: CaseTemplate | None = None
    best_score = 0
    for template in candidates:
        score = (2 if template.category_id is not None else 0) + (1 if template.goal_id is not None else 0)
        if score > best_score:
            best, best_score = template, score
    return best


def seed_plan(actor: Actor, case: Case, template: CaseTemplate | None, *, at: datetime) -> list[CaseTask]:
    """Give a new case the tasks of `template` (or of the best-matching one). Runs in open_case's transaction."""
    template = template or template_for(case)
    if template is None:
        return []
    tasks = [
        CaseTask(
            case=case,
            title=t.title,
            description=t.description,
            position=index,
            checklist=[{"text": str(item), "done": False} for item in t.checklist],
            due_at=at + timedelta(hours=t.due_after_hours) if t.due_after_hours else None,
            owner=case.owner,
            from_template=t,
            created_by=actor.user,
        )
        for index, t in enumerate(template.tasks.order_by("position", "id"))
    ]
    return CaseTask.objects.bulk_create(tasks)


@dataclass(frozen=True)
class TaskInput:
    title: str
    description: str = ""
    owner: User | None = None
    due_at: datetime | None = None
    checklist: tuple[str, ...] = ()


def _check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise ValidationError("A task needs a title.", fields={"title": "must not be empty"})
    if len(title) > TITLE_MAX:
        raise ValidationError("The title is too long.", fields={"title": f"at most {TITLE_MAX} characters"})
    return title


def _writable(actor: Actor, case: Case) -> None:
    actor.require(Perm.CASES_WORK)
    if case.status == CaseStatus.CLOSED:
        raise CaseClosedError("A closed case's plan cannot change.")


def _audit(actor: Actor, case: Case, action: str, summary: str, **after: object) -> None:
    record_audit(actor, action, object_type="case", object_id=case.public_id, summary=summary, after=dict(after))


@transaction.atomic
def add_task(actor: Actor, case: Case, data: TaskInput) -> CaseTask:
    _writable(actor, case)
    title = _check_title(data.title)
    last = CaseTask.objects.filter(case=case).aggregate(last=Max("position"))["last"]
    task = CaseTask.objects.create(
        case=case,
        title=title,
        description=data.description.strip(),
        position=0 if last is None else last + 1,
        owner=data.owner,
        due_at=data.due_at,
        checklist=[{"text": item.strip(), "done": False} for item in data.checklist if item.strip()],
        created_by=actor.user,
    )
    _audit(actor, case, "case.task_added", f"#{case.pk} + {title[:100]}", task=task.pk, title=title)
    return task


@transaction.atomic
def update_task(
    actor: Actor,
    task: CaseTask,
    *,
    title: str | None = None,
    description: str | None = None,
    owner: User | None = None,
    clear_owner: bool = False,
    due_at: datetime | None = None,
    clear_due: bool = False,
    checklist: list[dict[str, object]] | None = None,
) -> CaseTask:
    _writable(actor, task.case)
    fields: list[str] = []
    if title is not None:
        task.title = _check_title(title)
        fields.append("title")
    if description is not None:
        task.description = description.strip()
        fields.append("description")
    if clear_owner or owner is not None:
        task.owner = None if clear_owner else owner
        fields.append("owner")
    if clear_due or due_at is not None:
        task.due_at = None if clear_due else due_at
        fields.append("due_at")
    if checklist is not None:
        task.checklist = _check_checklist(checklist)
        fields.append("checklist")
    if fields:
        task.save(update_fields=fields)
        _audit(actor, task.case, "case.task_updated", f"#{task.case_id} task {task.pk}: {', '.join(fields)}")
    return task


def _check_checklist(items: list[dict[str, object]]) -> list[dict[str, object]]:
    cleaned: list[dict[str, object]] = []
    for index, item in enumerate(items):
        text = str(item.get("text", "")).strip() if isinstance(item, dict) else ""
        if not text:
            raise ValidationError(
                "A checklist item needs text.", fields={f"checklist.{index}.text": "must not be empty"}
            )
        cleaned.append({"text": text[:300], "done": bool(item.get("done", False))})
    return cleaned


@transaction.atomic
def set_task_status(actor: Actor, task: CaseTask, status: str, *, reason: str = "") -> CaseTask:
    """Complete, skip (with a reason) or reopen a task."""
    _writable(actor, task.case)
    if status not in TaskStatus.values:
        raise ValidationError(
            "Unknown task status.", fields={"status": f"must be one of {', '.join(TaskStatus.values)}"}
        )
    if status == TaskStatus.SKIPPED and not reason.strip():
        raise ValidationError("Say why the task is skipped.", fields={"reason": "required when skipping"})
    if task.status == status:
        return task
    task.status = status
    task.skip_reason = reason.strip()[:300] if status == TaskStatus.SKIPPED else ""
    done = status == TaskStatus.DONE
    task.completed_at = clock.now() if done else None
    task.completed_by = actor.user if done else None
    task.save(update_fields=["status", "skip_reason", "completed_at", "completed_by"])
    _audit(actor, task.case, f"case.task_{status}", f"#{task.case_id} task {task.pk} {status}", reason=reason or None)
    if done:
        publish(TaskCompleted(case_id=task.case.public_id, task_id=task.pk, title=task.title))
    return task


@transaction.atomic
def reorder_tasks(actor: Actor, case: Case, task_ids: list[int]) -> list[CaseTask]:
    """Put the case's tasks in the order of `task_ids`, which must name each of them once."""
    _writable(actor, case)
    tasks = {t.pk: t for t in CaseTask.objects.filter(case=case)}
    if sorted(task_ids) != sorted(tasks):
        raise ValidationError("Name every task of the case once.", fields={"task_ids": "must list each task once"})
    for position, task_id in enumerate(task_ids):
        tasks[task_id].position = position
    CaseTask.objects.bulk_update(tasks.values(), ["position"])
    _audit(actor, case, "case.tasks_reordered", f"#{case.pk} plan reordered", order=task_ids)
    return [tasks[i] for i in task_ids]


@transaction.atomic
def remove_task(actor: Actor, task: CaseTask) -> None:
    """Delete a task added by mistake (a template task is skipped instead, so the plan shows what was decided)."""
    _writable(actor, task.case)
    if task.from_template_id is not None:
        raise ValidationError("Skip a planned task instead of deleting it.", fields={"task": "came from the template"})
    _audit(actor, task.case, "case.task_removed", f"#{task.case_id} − {task.title[:100]}", task=task.pk)
    task.delete()
