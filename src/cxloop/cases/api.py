"""/api/v1 routes of case management: cases (queues, the case, status, assignment and hand-overs, plan,
conversations, links, timeline, merge), macros and bulk actions, and the configuration admins keep.

Changes that a person makes after reading a case carry the version they read (`version` in the body, or an
`If-Match: "<version>"` header); a case changed in between answers 409 `stale_version` instead of being
silently overwritten.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from cxloop.accounts.models import Team, User
from cxloop.api.auth import actor_of
from cxloop.cases.models import Case, Category, Goal
from cxloop.cases.queries import cases as case_queries
from cxloop.cases.queries import details, handovers
from cxloop.cases.queries import setup as setup_queries
from cxloop.cases.schemas import (
    AssignIn,
    BulkIn,
    BulkOut,
    CaseConversationIn,
    CaseConversationOut,
    CaseCreate,
    CaseFieldIn,
    CaseFieldOut,
    CaseFieldUpdate,
    CaseFilter,
    CaseLinkIn,
    CaseLinkOut,
    CaseOut,
    CasePage,
    CaseUpdate,
    CategoryIn,
    CategoryOut,
    CategoryUpdate,
    ChannelSettingIn,
    ChannelSettingOut,
    GoalIn,
    GoalOut,
    GoalUpdate,
    HandoverOut,
    MacroApplyIn,
    MacroIn,
    MacroOut,
    MacroUpdate,
    MergeIn,
    NoteIn,
    StatusChange,
    TaskCreate,
    TaskOrderIn,
    TaskOut,
    TaskStatusIn,
    TaskUpdate,
    TemplateIn,
    TemplateOut,
    TemplateTaskIn,
    TemplateTasksIn,
    TemplateUpdate,
)
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import macros, merging, plans
from cxloop.cases.services import setup as setup_services
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.ids import whole_number
from cxloop.customers import queries as customer_queries
from cxloop.interactions import inbox
from cxloop.interactions import queries as interaction_queries
from cxloop.interactions.schemas import InteractionOut, TimelinePage

router = Router(tags=["cases"])


# --- references named in bodies: an unknown one is a 422 on that field, not a 404 of the URL ----------------------


def _user(username: str | None, field: str) -> User | None:
    if not username:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError("No such user.", fields={field: "unknown username"})
    return user


def _team(team_id: int | None, field: str = "team") -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ValidationError("No such team.", fields={field: "unknown team"})
    return team


def _goal(actor: Actor, key: str | None, field: str = "goal") -> Goal | None:
    if not key:
        return None
    try:
        return setup_queries.get_goal(actor, key)
    except NotFoundError:
        raise ValidationError("No such goal.", fields={field: "unknown goal"}) from None


def _category(actor: Actor, key: str | None, field: str = "category") -> Category | None:
    if not key:
        return None
    try:
        return setup_queries.get_category(actor, key)
    except NotFoundError:
        raise ValidationError("No such category.", fields={field: "unknown category"}) from None


def _other_case(actor: Actor, case_id: str, field: str) -> Case:
    try:
        return case_queries.get_case(actor, case_id)
    except NotFoundError:
        raise ValidationError("No such case.", fields={field: "unknown case"}) from None


def _expected_version(request: HttpRequest, version: int | None) -> int | None:
    """The version the caller read: the body's `version`, or an If-Match header ("3", W/"3" or 3)."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return version
    raw = header.removeprefix("W/").strip('"')
    number = whole_number(raw)
    if number is None:
        raise ValidationError("If-Match must carry the case's version.", fields={"If-Match": 'e.g. "3"'})
    if version is not None and version != number:
        raise ValidationError("The version in the body and in If-Match differ.", fields={"version": "differs"})
    return number


def _out(actor: Actor, case: Case) -> CaseOut:
    counts = details.promise_counts(actor, [case.pk]).get(case.pk, (0, 0))
    return CaseOut.of(case, counts)


def _fresh(actor: Actor, case: Case) -> CaseOut:
    """The case as stored now (services return it with some relations unloaded)."""
    return _out(actor, case_queries.get_case(actor, case.public_id))


# --- cases ------------------------------------------------------------------------------------------------------


@router.get("/cases", response=CasePage, summary="Cases: the queues (mine, team, unassigned, breaching) and filters")
def list_cases(request: HttpRequest, filters: Query[CaseFilter]) -> CasePage:
    actor = actor_of(request)
    wanted = tuple(s.strip() for s in filters.status.split(",") if s.strip())
    page = case_queries.list_cases(
        actor,
        case_queries.CaseFilters(
            queue=filters.queue,
            statuses=wanted or case_queries.CaseFilters().statuses,
            priority=filters.priority,
            goal=filters.goal,
            category=filters.category,
            queue_id=filters.queue_id,
            team=filters.team,
            owner=filters.owner,
            customer=filters.customer,
            text=filters.q,
            sort=filters.sort,
        ),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    counts = details.promise_counts(actor, [c.pk for c in page.items])
    return CasePage(items=[CaseOut.of(c, counts.get(c.pk, (0, 0))) for c in page.items], next_cursor=page.next_cursor)


@router.post("/cases", response={201: CaseOut}, summary="Open a case")
def open_case(request: HttpRequest, payload: CaseCreate) -> Status[Any]:
    """Retried with the same `Idempotency-Key`, the first answer comes back and no second case is opened."""
    actor = actor_of(request)
    try:
        customer = customer_queries.get_customer(actor, payload.customer)
    except NotFoundError:
        raise ValidationError("No such customer.", fields={"customer": "unknown customer"}) from None
    template = None
    if payload.template is not None:
        try:
            template = setup_queries.get_template(actor, payload.template)
        except NotFoundError:
            raise ValidationError("No such template.", fields={"template": "unknown template"}) from None
    thread = None
    if payload.conversation:
        try:
            thread = inbox.get_conversation(actor, payload.conversation)
        except NotFoundError:
            raise ValidationError("No such conversation.", fields={"conversation": "unknown"}) from None
    case = case_services.open_case(
        actor,
        case_services.CaseInput(
            customer=customer,
            subject=payload.subject,
            goal=_goal(actor, payload.goal),
            category=_category(actor, payload.category),
            description=payload.description,
            priority=payload.priority,
            owner=_user(payload.owner, "owner"),
            team=_team(payload.team),
            source_channel=thread.channel if thread is not None else "",
            custom_fields=payload.custom_fields,
            template=template,
            thread=thread,
            route=payload.route,
        ),
    )
    return Status(201, _fresh(actor, case))


@router.post("/cases/bulk", response=BulkOut, summary="Run actions on many cases (the queue's bulk bar)")
def bulk_update(request: HttpRequest, payload: BulkIn) -> BulkOut:
    """Each case succeeds or fails on its own; `results` says which, with the error of each refused one.
    Assigning more than one case needs the cases.assign permission."""
    return BulkOut.of(macros.bulk_update(actor_of(request), payload.case_ids, payload.actions))


@router.get("/cases/{case_id}", response=CaseOut, summary="One case (public id or number)")
def get_case(request: HttpRequest, case_id: str) -> CaseOut:
    actor = actor_of(request)
    return _out(actor, case_queries.get_case(actor, case_id))


@router.patch("/cases/{case_id}", response=CaseOut, summary="Change a case (optimistic locking)")
def update_case(request: HttpRequest, case_id: str, payload: CaseUpdate) -> CaseOut:
    actor = actor_of(request)
    case = case_queries.get_case(actor, case_id)
    sent = payload.model_fields_set
    case = case_services.update_case(
        actor,
        case,
        case_services.CaseChanges(
            subject=payload.subject,
            description=payload.description,
            priority=payload.priority,
            goal=_goal(actor, payload.goal),
            category=_category(actor, payload.category),
            clear_category="category" in sent and payload.category is None,
            custom_fields=payload.custom_fields,
        ),
        expected_version=_expected_version(request, payload.version),
    )
    return _fresh(actor, case)


@router.post("/cases/{case_id}/status", response=CaseOut, summary="Change the status (under the state machine)")
def change_status(request: HttpRequest, case_id: str, payload: StatusChange) -> CaseOut:
    """A change the state machine does not allow answers 409 `illegal_transition`; `fields.status` lists the
    statuses allowed from the current one (CaseOut.allowed_statuses has them as a list)."""
    actor = actor_of(request)
    case = case_services.change_status(
        actor,
        case_queries.get_case(actor, case_id),
        payload.status,
        expected_version=_expected_version(request, payload.version),
        goal_achieved=payload.goal_achieved,
        outcome=payload.outcome,
        reason=payload.reason,
    )
    return _fresh(actor, case)


@router.post("/cases/{case_id}/assign", response=CaseOut, summary="Assign or hand over a case")
def assign_case(request: HttpRequest, case_id: str, payload: AssignIn) -> CaseOut:
    """Moving a case away from the person or team that had it is a hand-over: it needs a `note` (422
    `handover_note_required` otherwise), and the receiver gets a hand-over summary."""
    actor = actor_of(request)
    case = case_services.assign_case(
        actor,
        case_queries.get_case(actor, case_id),
        owner=_user(payload.owner, "owner"),
        team=_team(payload.team),
        note=payload.note,
        expected_version=_expected_version(request, payload.version),
    )
    return _fresh(actor, case)


@router.get("/cases/{case_id}/handovers", response=list[HandoverOut], summary="The case's hand-overs")
def list_handovers(request: HttpRequest, case_id: str) -> list[HandoverOut]:
    actor = actor_of(request)
    return [HandoverOut.of(h) for h in handovers.handovers_of(actor, case_queries.get_case(actor, case_id))]


@router.get(
    "/cases/{case_id}/handover-preview", response=dict[str, Any], summary="The summary a receiver would get now"
)
def handover_preview(request: HttpRequest, case_id: str) -> dict[str, Any]:
    actor = actor_of(request)
    return details.handover_preview(actor, case_queries.get_case(actor, case_id))


@router.post("/handovers/{handover_id}/acknowledge", response=HandoverOut, summary="The receiver read the hand-over")
def acknowledge_handover(request: HttpRequest, handover_id: int) -> HandoverOut:
    actor = actor_of(request)
    return HandoverOut.of(case_services.acknowledge_handover(actor, details.get_handover(actor, handover_id)))


@router.post("/cases/{case_id}/merge", response=CaseOut, summary="Merge this (duplicate) case into another")
def merge_case(request: HttpRequest, case_id: str, payload: MergeIn) -> CaseOut:
    """Answers the surviving case; the duplicate is closed with `merged_into`."""
    actor = actor_of(request)
    duplicate = case_queries.get_case(actor, case_id)
    into = merging.merge_cases(actor, duplicate, _other_case(actor, payload.into, "into"))
    return _fresh(actor, into)


@router.get("/cases/{case_id}/timeline", response=TimelinePage, summary="The case's messages and notes, newest first")
def case_timeline(request: HttpRequest, case_id: str, cursor: str | None = None, limit: int = 25) -> TimelinePage:
    actor = actor_of(request)
    case = case_queries.get_case(actor, case_id)
    page = interaction_queries.case_timeline(actor, case.public_id, cursor=cursor, limit=limit)
    return TimelinePage(items=[InteractionOut.from_model(i) for i in page.items], next_cursor=page.next_cursor)


@router.post("/cases/{case_id}/notes", response={201: InteractionOut}, summary="Add an internal note to the case")
def add_note(request: HttpRequest, case_id: str, payload: NoteIn) -> Status[Any]:
    actor = actor_of(request)
    note = macros.add_case_note(actor, case_queries.get_case(actor, case_id), payload.body)
    return Status(201, InteractionOut.from_model(note))


# --- plan -------------------------------------------------------------------------------------------------------


@router.get("/cases/{case_id}/tasks", response=list[TaskOut], summary="The case's plan")
def list_tasks(request: HttpRequest, case_id: str) -> list[TaskOut]:
    actor = actor_of(request)
    return [TaskOut.of(t) for t in case_queries.tasks_of(actor, case_queries.get_case(actor, case_id))]


@router.post("/cases/{case_id}/tasks", response={201: TaskOut}, summary="Add a task to the plan")
def add_task(request: HttpRequest, case_id: str, payload: TaskCreate) -> Status[Any]:
    actor = actor_of(request)
    task = plans.add_task(
        actor,
        case_queries.get_case(actor, case_id),
        plans.TaskInput(
            title=payload.title,
            description=payload.description,
            owner=_user(payload.owner, "owner"),
            due_at=payload.due_at,
            checklist=tuple(payload.checklist),
        ),
    )
    return Status(201, TaskOut.of(task))


@router.put("/cases/{case_id}/tasks/order", response=list[TaskOut], summary="Reorder the plan")
def reorder_tasks(request: HttpRequest, case_id: str, payload: TaskOrderIn) -> list[TaskOut]:
    actor = actor_of(request)
    tasks = plans.reorder_tasks(actor, case_queries.get_case(actor, case_id), payload.task_ids)
    return [TaskOut.of(t) for t in tasks]


@router.patch("/cases/{case_id}/tasks/{task_id}", response=TaskOut, summary="Change a task")
def update_task(request: HttpRequest, case_id: str, task_id: int, payload: TaskUpdate) -> TaskOut:
    actor = actor_of(request)
    task = details.get_task(actor, case_queries.get_case(actor, case_id), task_id)
    sent = payload.model_fields_set
    task = plans.update_task(
        actor,
        task,
        title=payload.title,
        description=payload.description,
        owner=_user(payload.owner, "owner"),
        clear_owner="owner" in sent and payload.owner is None,
        due_at=payload.due_at,
        clear_due="due_at" in sent and payload.due_at is None,
        checklist=[item.model_dump() for item in payload.checklist] if payload.checklist is not None else None,
    )
    return TaskOut.of(task)


@router.delete("/cases/{case_id}/tasks/{task_id}", response={204: None}, summary="Remove a task added by mistake")
def remove_task(request: HttpRequest, case_id: str, task_id: int) -> Status[None]:
    """A task from the template is skipped instead (POST …/status with `skipped` and a reason): 422 here."""
    actor = actor_of(request)
    plans.remove_task(actor, details.get_task(actor, case_queries.get_case(actor, case_id), task_id))
    return Status(204, None)


@router.post("/cases/{case_id}/tasks/{task_id}/status", response=TaskOut, summary="Complete, skip or reopen a task")
def set_task_status(request: HttpRequest, case_id: str, task_id: int, payload: TaskStatusIn) -> TaskOut:
    actor = actor_of(request)
    task = details.get_task(actor, case_queries.get_case(actor, case_id), task_id)
    return TaskOut.of(plans.set_task_status(actor, task, payload.status, reason=payload.reason))


# --- conversations and links ------------------------------------------------------------------------------------


@router.get("/cases/{case_id}/conversations", response=list[CaseConversationOut], summary="Linked conversations")
def list_conversations(request: HttpRequest, case_id: str) -> list[CaseConversationOut]:
    actor = actor_of(request)
    links = case_queries.conversations_of(actor, case_queries.get_case(actor, case_id))
    return [CaseConversationOut.of(link) for link in links]


@router.post("/cases/{case_id}/conversations", response={201: list[CaseConversationOut]}, summary="Link a conversation")
def link_conversation(request: HttpRequest, case_id: str, payload: CaseConversationIn) -> Status[Any]:
    """Its messages (earlier ones too) now show on the case, and replies in it count as responses."""
    actor = actor_of(request)
    case = case_queries.get_case(actor, case_id)
    try:
        thread = inbox.get_conversation(actor, payload.conversation)
    except NotFoundError:
        raise ValidationError("No such conversation.", fields={"conversation": "unknown"}) from None
    case = case_services.link_conversation(actor, case, thread)
    return Status(201, [CaseConversationOut.of(link) for link in case_queries.conversations_of(actor, case)])


@router.delete(
    "/cases/{case_id}/conversations/{conversation_id}", response={204: None}, summary="Unlink a conversation"
)
def unlink_conversation(request: HttpRequest, case_id: str, conversation_id: str) -> Status[None]:
    actor = actor_of(request)
    case = case_queries.get_case(actor, case_id)
    case_services.unlink_conversation(actor, case, inbox.get_conversation(actor, conversation_id))
    return Status(204, None)


@router.get("/cases/{case_id}/links", response=list[CaseLinkOut], summary="Links to other cases")
def list_links(request: HttpRequest, case_id: str) -> list[CaseLinkOut]:
    actor = actor_of(request)
    return [CaseLinkOut.of(link) for link in case_queries.links_of(actor, case_queries.get_case(actor, case_id))]


@router.post("/cases/{case_id}/links", response={201: list[CaseLinkOut]}, summary="Link another case")
def link_case(request: HttpRequest, case_id: str, payload: CaseLinkIn) -> Status[Any]:
    actor = actor_of(request)
    case = case_queries.get_case(actor, case_id)
    case_services.link_cases(actor, case, _other_case(actor, payload.case, "case"), payload.kind)
    return Status(201, [CaseLinkOut.of(link) for link in case_queries.links_of(actor, case)])


@router.delete("/cases/{case_id}/links/{link_id}", response={204: None}, summary="Remove a link")
def unlink_case(request: HttpRequest, case_id: str, link_id: int) -> Status[None]:
    actor = actor_of(request)
    case_services.unlink_cases(actor, details.get_link(actor, case_queries.get_case(actor, case_id), link_id))
    return Status(204, None)


# --- macros -----------------------------------------------------------------------------------------------------


@router.get("/macros", response=list[MacroOut], summary="Macros")
def list_macros(request: HttpRequest, include_inactive: bool = False) -> list[MacroOut]:
    return [MacroOut.of(m) for m in setup_queries.list_macros(actor_of(request), include_inactive=include_inactive)]


@router.post("/macros", response={201: MacroOut}, summary="Save a macro (its actions are checked now)")
def create_macro(request: HttpRequest, payload: MacroIn) -> Status[Any]:
    macro = setup_services.create_macro(
        actor_of(request), name=payload.name, description=payload.description, actions=payload.actions
    )
    return Status(201, MacroOut.of(macro))


@router.get("/macros/{macro_id}", response=MacroOut, summary="One macro")
def get_macro(request: HttpRequest, macro_id: int) -> MacroOut:
    return MacroOut.of(setup_queries.get_macro(actor_of(request), macro_id))


@router.patch("/macros/{macro_id}", response=MacroOut, summary="Change a macro, or switch it off")
def update_macro(request: HttpRequest, macro_id: int, payload: MacroUpdate) -> MacroOut:
    actor = actor_of(request)
    macro = setup_services.update_macro(
        actor,
        setup_queries.get_macro(actor, macro_id),
        name=payload.name,
        description=payload.description,
        actions=payload.actions,
        is_active=payload.is_active,
    )
    return MacroOut.of(macro)


@router.delete("/macros/{macro_id}", response={204: None}, summary="Delete a macro")
def delete_macro(request: HttpRequest, macro_id: int) -> Status[None]:
    actor = actor_of(request)
    setup_services.delete_macro(actor, setup_queries.get_macro(actor, macro_id))
    return Status(204, None)


@router.post("/macros/{macro_id}/apply", response=BulkOut, summary="Run a macro on cases")
def apply_macro(request: HttpRequest, macro_id: int, payload: MacroApplyIn) -> BulkOut:
    actor = actor_of(request)
    return BulkOut.of(macros.apply_macro_by_ids(actor, setup_queries.get_macro(actor, macro_id), payload.case_ids))


# --- configuration ----------------------------------------------------------------------------------------------


@router.get("/case-goals", response=list[GoalOut], summary="Engagement goals")
def list_goals(request: HttpRequest, include_retired: bool = False) -> list[GoalOut]:
    return [GoalOut.of(g) for g in setup_queries.list_goals(actor_of(request), include_retired=include_retired)]


@router.post("/case-goals", response={201: GoalOut}, summary="Add an engagement goal")
def create_goal(request: HttpRequest, payload: GoalIn) -> Status[Any]:
    goal = setup_services.create_goal(
        actor_of(request), key=payload.key, name=payload.name, description=payload.description
    )
    return Status(201, GoalOut.of(goal))


@router.patch("/case-goals/{key}", response=GoalOut, summary="Rename, retire or restore a goal")
def update_goal(request: HttpRequest, key: str, payload: GoalUpdate) -> GoalOut:
    actor = actor_of(request)
    goal = setup_services.update_goal(
        actor,
        setup_queries.get_goal(actor, key),
        name=payload.name,
        description=payload.description,
        is_active=payload.is_active,
    )
    return GoalOut.of(goal)


@router.delete("/case-goals/{key}", response={204: None}, summary="Delete an unused goal")
def delete_goal(request: HttpRequest, key: str) -> Status[None]:
    """A goal that cases or templates use cannot be deleted (409 `goal_in_use`): retire it instead."""
    actor = actor_of(request)
    setup_services.delete_goal(actor, setup_queries.get_goal(actor, key))
    return Status(204, None)


@router.get("/case-categories", response=list[CategoryOut], summary="Case categories")
def list_categories(request: HttpRequest, include_retired: bool = False) -> list[CategoryOut]:
    actor = actor_of(request)
    return [CategoryOut.of(c) for c in setup_queries.list_categories(actor, include_retired=include_retired)]


@router.post("/case-categories", response={201: CategoryOut}, summary="Add a category")
def create_category(request: HttpRequest, payload: CategoryIn) -> Status[Any]:
    actor = actor_of(request)
    category = setup_services.create_category(
        actor,
        key=payload.key,
        name=payload.name,
        goal=_goal(actor, payload.goal),
        description=payload.description,
    )
    return Status(201, CategoryOut.of(category))


@router.patch("/case-categories/{key}", response=CategoryOut, summary="Change, retire or restore a category")
def update_category(request: HttpRequest, key: str, payload: CategoryUpdate) -> CategoryOut:
    actor = actor_of(request)
    category = setup_services.update_category(
        actor,
        setup_queries.get_category(actor, key),
        name=payload.name,
        goal=_goal(actor, payload.goal),
        clear_goal="goal" in payload.model_fields_set and payload.goal is None,
        description=payload.description,
        is_active=payload.is_active,
    )
    return CategoryOut.of(category)


@router.get("/case-fields", response=list[CaseFieldOut], summary="Custom case fields")
def list_case_fields(request: HttpRequest) -> list[CaseFieldOut]:
    return [CaseFieldOut.of(d) for d in setup_queries.list_case_fields(actor_of(request))]


@router.post("/case-fields", response={201: CaseFieldOut}, summary="Define a custom case field")
def define_case_field(request: HttpRequest, payload: CaseFieldIn) -> Status[Any]:
    definition = setup_services.define_case_field(actor_of(request), **payload.model_dump())
    return Status(201, CaseFieldOut.of(definition))


@router.patch("/case-fields/{key}", response=CaseFieldOut, summary="Change a case field's label, choices or rule")
def update_case_field(request: HttpRequest, key: str, payload: CaseFieldUpdate) -> CaseFieldOut:
    actor = actor_of(request)
    definition = setup_services.update_case_field(
        actor,
        setup_queries.get_case_field(actor, key),
        label=payload.label,
        choices=payload.choices,
        required_to_resolve=payload.required_to_resolve,
        description=payload.description,
    )
    return CaseFieldOut.of(definition)


@router.delete("/case-fields/{key}", response={204: None}, summary="Delete a case field (stored values stay)")
def delete_case_field(request: HttpRequest, key: str) -> Status[None]:
    actor = actor_of(request)
    setup_services.delete_case_field(actor, setup_queries.get_case_field(actor, key))
    return Status(204, None)


def _template_tasks(tasks: list[TemplateTaskIn]) -> tuple[setup_services.TemplateTaskInput, ...]:
    return tuple(
        setup_services.TemplateTaskInput(
            title=t.title, description=t.description, checklist=tuple(t.checklist), due_after_hours=t.due_after_hours
        )
        for t in tasks
    )


@router.get("/case-templates", response=list[TemplateOut], summary="Case templates (suggested plans)")
def list_templates(request: HttpRequest, include_inactive: bool = False) -> list[TemplateOut]:
    actor = actor_of(request)
    return [TemplateOut.of(t) for t in setup_queries.list_templates(actor, include_inactive=include_inactive)]


@router.post("/case-templates", response={201: TemplateOut}, summary="Add a case template with its tasks")
def create_template(request: HttpRequest, payload: TemplateIn) -> Status[Any]:
    actor = actor_of(request)
    template = setup_services.create_template(
        actor,
        setup_services.TemplateInput(
            name=payload.name,
            goal=_goal(actor, payload.goal),
            category=_category(actor, payload.category),
            description=payload.description,
            tasks=_template_tasks(payload.tasks),
        ),
    )
    return Status(201, TemplateOut.of(setup_queries.get_template(actor, template.pk)))


@router.get("/case-templates/{template_id}", response=TemplateOut, summary="One case template")
def get_template(request: HttpRequest, template_id: int) -> TemplateOut:
    return TemplateOut.of(setup_queries.get_template(actor_of(request), template_id))


@router.patch("/case-templates/{template_id}", response=TemplateOut, summary="Change or deactivate a template")
def update_template(request: HttpRequest, template_id: int, payload: TemplateUpdate) -> TemplateOut:
    actor = actor_of(request)
    sent = payload.model_fields_set
    template = setup_services.update_template(
        actor,
        setup_queries.get_template(actor, template_id),
        name=payload.name,
        goal=_goal(actor, payload.goal),
        clear_goal="goal" in sent and payload.goal is None,
        category=_category(actor, payload.category),
        clear_category="category" in sent and payload.category is None,
        description=payload.description,
        is_active=payload.is_active,
    )
    return TemplateOut.of(setup_queries.get_template(actor, template.pk))


@router.put("/case-templates/{template_id}/tasks", response=TemplateOut, summary="Replace a template's tasks")
def replace_template_tasks(request: HttpRequest, template_id: int, payload: TemplateTasksIn) -> TemplateOut:
    actor = actor_of(request)
    template = setup_services.replace_template_tasks(
        actor, setup_queries.get_template(actor, template_id), _template_tasks(payload.tasks)
    )
    return TemplateOut.of(setup_queries.get_template(actor, template.pk))


@router.get("/case-channel-settings", response=list[ChannelSettingOut], summary="Which channels open cases")
def list_channel_settings(request: HttpRequest) -> list[ChannelSettingOut]:
    return [ChannelSettingOut.of(s) for s in setup_queries.list_channel_settings(actor_of(request))]


@router.put("/case-channel-settings/{channel}", response=ChannelSettingOut, summary="Set whether a channel opens cases")
def set_channel_setting(request: HttpRequest, channel: str, payload: ChannelSettingIn) -> ChannelSettingOut:
    actor = actor_of(request)
    setting = setup_services.set_channel_case_setting(
        actor,
        channel,
        opens_cases=payload.opens_cases,
        goal=_goal(actor, payload.goal),
        category=_category(actor, payload.category),
        priority=payload.priority,
    )
    return ChannelSettingOut.of(setting)
