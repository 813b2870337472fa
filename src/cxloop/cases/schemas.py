"""Schemas of the case API (/api/v1/cases and its configuration routes).

PATCH bodies are all-optional; a field sent as null clears it where that makes sense (category, owner, due
time), which is told apart from a field left out through pydantic's `model_fields_set`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from cxloop.cases import statuses
from cxloop.cases.models import (
    Case,
    CaseConversation,
    CaseFieldDefinition,
    CaseTask,
    CaseTemplate,
    Category,
    ChannelCaseSetting,
    Goal,
    Handover,
    Macro,
)
from cxloop.cases.queries.cases import LinkedCase
from cxloop.cases.services.macros import CaseResult

# --- cases ------------------------------------------------------------------------------------------------------


class CaseOut(Schema):
    id: str
    number: int
    customer: str
    customer_name: str
    goal: str
    category: str | None
    subject: str
    description: str
    status: str
    allowed_statuses: list[str] = Field(description="Statuses the state machine allows next")
    priority: str
    owner: str | None
    team: int | None
    queue: str | None
    source_channel: str
    custom_fields: dict[str, Any]
    version: int = Field(description="Send it back when changing the case (optimistic locking)")
    opened_at: datetime
    first_response_at: datetime | None
    last_customer_message_at: datetime | None
    last_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    goal_achieved: bool | None
    outcome: str
    is_repeat_contact: bool
    repeat_count: int
    handover_count: int
    reopen_count: int
    merged_into: str | None
    sla_state: str
    sla_next_due_at: datetime | None
    promises: int = Field(description="Promises made on this case")
    open_promises: int = Field(description="Promises still open or missed")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def of(case: Case, promise_counts: tuple[int, int] = (0, 0)) -> CaseOut:
        return CaseOut(
            id=case.public_id,
            number=case.pk,
            customer=case.customer.public_id,
            customer_name=case.customer.name,
            goal=case.goal.key,
            category=case.category.key if case.category else None,
            subject=case.subject,
            description=case.description,
            status=case.status,
            allowed_statuses=list(statuses.allowed_transitions(case.status)),
            priority=case.priority,
            owner=case.owner.username if case.owner else None,
            team=case.team_id,
            queue=case.queue.key if case.queue else None,
            source_channel=case.source_channel,
            custom_fields=dict(case.custom_fields),
            version=case.version,
            opened_at=case.opened_at,
            first_response_at=case.first_response_at,
            last_customer_message_at=case.last_customer_message_at,
            last_response_at=case.last_response_at,
            resolved_at=case.resolved_at,
            closed_at=case.closed_at,
            goal_achieved=case.goal_achieved,
            outcome=case.outcome,
            is_repeat_contact=case.is_repeat_contact,
            repeat_count=case.repeat_count,
            handover_count=case.handover_count,
            reopen_count=case.reopen_count,
            merged_into=case.merged_into.public_id if case.merged_into_id and case.merged_into else None,
            sla_state=case.sla_state,
            sla_next_due_at=case.sla_next_due_at,
            promises=promise_counts[0],
            open_promises=promise_counts[1],
            created_at=case.created_at,
            updated_at=case.updated_at,
        )


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


class CaseFilter(Schema):
    queue: str = Field(default="all", description="mine, team, unassigned, breaching or all")
    status: str = Field(default="", description="Statuses, comma-separated (default: the active ones)")
    priority: str = Field(default="", max_length=10)
    goal: str = Field(default="", max_length=40, description="Goal key")
    category: str = Field(default="", max_length=60, description="Category key")
    queue_id: int | None = Field(default=None, description="A routing queue's id")
    team: int | None = None
    owner: str = Field(default="", max_length=150, description="Username")
    customer: str = Field(default="", max_length=32, description="Customer public id")
    q: str = Field(default="", max_length=200, description="Words of the subject, a case id or #number")
    sort: str = Field(default="newest", description="newest, oldest or updated")
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


class CaseCreate(Schema):
    customer: str = Field(max_length=32, description="Customer public id")
    subject: str = Field(max_length=300)
    description: str = Field(default="", max_length=20_000)
    goal: str | None = Field(default=None, max_length=40, description="Goal key (default: the category's, then care)")
    category: str | None = Field(default=None, max_length=60)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    owner: str | None = Field(default=None, max_length=150, description="Username")
    team: int | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    template: int | None = Field(default=None, description="Case template id (default: the best match)")
    conversation: str | None = Field(default=None, max_length=32, description="Conversation to link")
    route: bool = Field(default=True, description="Let routing rules pick queue and owner when none is given")


class CaseUpdate(Schema):
    version: int | None = Field(default=None, description="The version you read (or send If-Match)")
    subject: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    goal: str | None = Field(default=None, max_length=40)
    category: str | None = Field(default=None, max_length=60, description="null clears it")
    custom_fields: dict[str, Any] | None = Field(default=None, description="Merged in; a null value removes a key")


class StatusChange(Schema):
    status: str = Field(max_length=20)
    version: int | None = None
    goal_achieved: bool | None = Field(default=None, description="On resolving: was the goal achieved?")
    outcome: str = Field(default="", max_length=5000, description="On resolving: how the case ended")
    reason: str = Field(default="", max_length=300)


class AssignIn(Schema):
    owner: str | None = Field(default=None, max_length=150, description="Username; null leaves nobody owning it")
    team: int | None = Field(default=None, description="Team id (default: the owner's team)")
    note: str = Field(default="", max_length=5000, description="The hand-over note (required when it changes hands)")
    version: int | None = None


class HandoverOut(Schema):
    id: int
    case: str
    from_user: str | None
    to_user: str | None
    from_team: int | None
    to_team: int | None
    note: str
    summary: dict[str, Any]
    created_at: datetime
    created_by: str | None
    acknowledged_at: datetime | None

    @staticmethod
    def of(h: Handover) -> HandoverOut:
        return HandoverOut(
            id=h.pk,
            case=h.case.public_id,
            from_user=h.from_user.username if h.from_user else None,
            to_user=h.to_user.username if h.to_user else None,
            from_team=h.from_team_id,
            to_team=h.to_team_id,
            note=h.note,
            summary=dict(h.summary),
            created_at=h.created_at,
            created_by=h.created_by.username if h.created_by else None,
            acknowledged_at=h.acknowledged_at,
        )


class MergeIn(Schema):
    into: str = Field(max_length=32, description="The case that carries on (public id or #number)")


class NoteIn(Schema):
    body: str = Field(min_length=1, max_length=50_000)


# --- plan -------------------------------------------------------------------------------------------------------


class ChecklistItem(Schema):
    text: str = Field(max_length=300)
    done: bool = False


class TaskOut(Schema):
    id: int
    title: str
    description: str
    position: int
    status: str
    owner: str | None
    due_at: datetime | None
    checklist: list[dict[str, Any]]
    from_template: bool
    skip_reason: str
    completed_at: datetime | None
    created_at: datetime

    @staticmethod
    def of(t: CaseTask) -> TaskOut:
        return TaskOut(
            id=t.pk,
            title=t.title,
            description=t.description,
            position=t.position,
            status=t.status,
            owner=t.owner.username if t.owner else None,
            due_at=t.due_at,
            checklist=list(t.checklist),
            from_template=t.from_template_id is not None,
            skip_reason=t.skip_reason,
            completed_at=t.completed_at,
            created_at=t.created_at,
        )


class TaskCreate(Schema):
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=5000)
    owner: str | None = Field(default=None, max_length=150)
    due_at: datetime | None = None
    checklist: list[str] = Field(default_factory=list, max_length=30)


class TaskUpdate(Schema):
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    owner: str | None = Field(default=None, max_length=150, description="null clears it")
    due_at: datetime | None = Field(default=None, description="null clears it")
    checklist: list[ChecklistItem] | None = Field(default=None, max_length=30)


class TaskStatusIn(Schema):
    status: str = Field(max_length=10, description="todo, done or skipped")
    reason: str = Field(default="", max_length=300, description="Why it is skipped")


class TaskOrderIn(Schema):
    task_ids: list[int] = Field(max_length=500)


# --- conversations and links ------------------------------------------------------------------------------------


class CaseConversationIn(Schema):
    conversation: str = Field(max_length=32)


class CaseConversationOut(Schema):
    id: str
    channel: str
    subject: str
    status: str
    linked_at: datetime

    @staticmethod
    def of(link: CaseConversation) -> CaseConversationOut:
        return CaseConversationOut(
            id=link.thread.public_id,
            channel=link.thread.channel,
            subject=link.thread.subject,
            status=link.thread.status,
            linked_at=link.linked_at,
        )


class CaseLinkIn(Schema):
    case: str = Field(max_length=32, description="The other case (public id or #number)")
    kind: str = Field(max_length=20, description="duplicate_of, related or child_of (this case is the child)")


class CaseLinkOut(Schema):
    id: int
    kind: str = Field(description="As read from this case: duplicate_of, duplicated_by, related, child_of, parent_of")
    case: str
    number: int
    subject: str
    status: str

    @staticmethod
    def of(link: LinkedCase) -> CaseLinkOut:
        return CaseLinkOut(
            id=link.link_id,
            kind=link.kind,
            case=link.case.public_id,
            number=link.case.pk,
            subject=link.case.subject,
            status=link.case.status,
        )


# --- macros and bulk --------------------------------------------------------------------------------------------


class CaseResultOut(Schema):
    case: str
    number: int | None
    ok: bool
    code: str
    message: str
    fields: dict[str, str]

    @staticmethod
    def of(r: CaseResult) -> CaseResultOut:
        return CaseResultOut(
            case=r.case_id, number=r.number, ok=r.ok, code=r.code, message=r.message, fields=dict(r.fields)
        )


class BulkOut(Schema):
    changed: int
    failed: int
    results: list[CaseResultOut]

    @staticmethod
    def of(results: list[CaseResult]) -> BulkOut:
        changed = sum(1 for r in results if r.ok)
        return BulkOut(changed=changed, failed=len(results) - changed, results=[CaseResultOut.of(r) for r in results])


class MacroApplyIn(Schema):
    case_ids: list[str] = Field(min_length=1, max_length=200)


class BulkIn(Schema):
    case_ids: list[str] = Field(min_length=1, max_length=200)
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=20)


# --- configuration ----------------------------------------------------------------------------------------------


class GoalOut(Schema):
    key: str
    name: str
    description: str
    position: int
    is_active: bool

    @staticmethod
    def of(g: Goal) -> GoalOut:
        return GoalOut(key=g.key, name=g.name, description=g.description, position=g.position, is_active=g.is_active)


class GoalIn(Schema):
    key: str = Field(max_length=40)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=300)


class GoalUpdate(Schema):
    name: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=300)
    is_active: bool | None = Field(default=None, description="false retires the goal")


class CategoryOut(Schema):
    key: str
    name: str
    goal: str | None
    description: str
    is_active: bool

    @staticmethod
    def of(c: Category) -> CategoryOut:
        return CategoryOut(
            key=c.key,
            name=c.name,
            goal=c.goal.key if c.goal else None,
            description=c.description,
            is_active=c.is_active,
        )


class CategoryIn(Schema):
    key: str = Field(max_length=60)
    name: str = Field(max_length=100)
    goal: str | None = Field(default=None, max_length=40)
    description: str = Field(default="", max_length=300)


class CategoryUpdate(Schema):
    name: str | None = Field(default=None, max_length=100)
    goal: str | None = Field(default=None, max_length=40, description="null clears it")
    description: str | None = Field(default=None, max_length=300)
    is_active: bool | None = None


class CaseFieldOut(Schema):
    key: str
    label: str
    type: str
    choices: list[str]
    required_to_resolve: bool
    description: str

    @staticmethod
    def of(d: CaseFieldDefinition) -> CaseFieldOut:
        return CaseFieldOut(
            key=d.key,
            label=d.label,
            type=d.type,
            choices=[str(c) for c in d.choices],
            required_to_resolve=d.required_to_resolve,
            description=d.description,
        )


class CaseFieldIn(Schema):
    key: str = Field(max_length=50)
    label: str = Field(max_length=100)
    type: Literal["text", "number", "boolean", "date", "choice"] = "text"
    choices: list[str] = Field(default_factory=list, max_length=100)
    required_to_resolve: bool = False
    description: str = Field(default="", max_length=300)


class CaseFieldUpdate(Schema):
    label: str | None = Field(default=None, max_length=100)
    choices: list[str] | None = Field(default=None, max_length=100)
    required_to_resolve: bool | None = None
    description: str | None = Field(default=None, max_length=300)


class TemplateTaskIn(Schema):
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=5000)
    checklist: list[str] = Field(default_factory=list, max_length=30)
    due_after_hours: int | None = Field(default=None, ge=1, le=8760)


class TemplateTaskOut(Schema):
    id: int
    title: str
    description: str
    position: int
    checklist: list[str]
    due_after_hours: int | None


class TemplateOut(Schema):
    id: int
    name: str
    goal: str | None
    category: str | None
    description: str
    is_active: bool
    tasks: list[TemplateTaskOut]
    updated_at: datetime

    @staticmethod
    def of(t: CaseTemplate) -> TemplateOut:
        return TemplateOut(
            id=t.pk,
            name=t.name,
            goal=t.goal.key if t.goal else None,
            category=t.category.key if t.category else None,
            description=t.description,
            is_active=t.is_active,
            tasks=[
                TemplateTaskOut(
                    id=task.pk,
                    title=task.title,
                    description=task.description,
                    position=task.position,
                    checklist=[str(i) for i in task.checklist],
                    due_after_hours=task.due_after_hours,
                )
                for task in sorted(t.tasks.all(), key=lambda x: (x.position, x.pk))
            ],
            updated_at=t.updated_at,
        )


class TemplateIn(Schema):
    name: str = Field(max_length=100)
    goal: str | None = Field(default=None, max_length=40)
    category: str | None = Field(default=None, max_length=60)
    description: str = Field(default="", max_length=300)
    tasks: list[TemplateTaskIn] = Field(default_factory=list, max_length=50)


class TemplateUpdate(Schema):
    name: str | None = Field(default=None, max_length=100)
    goal: str | None = Field(default=None, max_length=40, description="null clears it")
    category: str | None = Field(default=None, max_length=60, description="null clears it")
    description: str | None = Field(default=None, max_length=300)
    is_active: bool | None = Field(default=None, description="false deactivates the template")


class TemplateTasksIn(Schema):
    tasks: list[TemplateTaskIn] = Field(max_length=50)


class ChannelSettingOut(Schema):
    channel: str
    opens_cases: bool
    goal: str | None
    category: str | None
    priority: str

    @staticmethod
    def of(s: ChannelCaseSetting) -> ChannelSettingOut:
        return ChannelSettingOut(
            channel=s.channel,
            opens_cases=s.opens_cases,
            goal=s.goal.key if s.goal else None,
            category=s.category.key if s.category else None,
            priority=s.priority,
        )


class ChannelSettingIn(Schema):
    opens_cases: bool
    goal: str | None = Field(default=None, max_length=40)
    category: str | None = Field(default=None, max_length=60)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"


class MacroOut(Schema):
    id: int
    name: str
    description: str
    actions: list[dict[str, Any]]
    is_active: bool
    created_by: str | None
    updated_at: datetime

    @staticmethod
    def of(m: Macro) -> MacroOut:
        return MacroOut(
            id=m.pk,
            name=m.name,
            description=m.description,
            actions=list(m.actions),
            is_active=m.is_active,
            created_by=m.created_by.username if m.created_by else None,
            updated_at=m.updated_at,
        )


class MacroIn(Schema):
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=300)
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=20)


class MacroUpdate(Schema):
    name: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=300)
    actions: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=20)
    is_active: bool | None = None
