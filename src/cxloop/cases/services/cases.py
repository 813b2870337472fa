"""The case lifecycle: opening, editing, status changes under the state machine, assignment and warm hand-overs,
links to conversations and to other cases.

Every change of a case raises its `version`. Callers that show a case to a person pass the version they showed
(`expected_version`); a change made by someone else in between is refused (StaleVersionError, 409) rather than
silently overwritten. System callers (routing, the message subscriber) pass none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F

from cxloop.accounts.models import Team, User
from cxloop.cases import statuses
from cxloop.cases.errors import (
    CaseClosedError,
    HandoverNoteRequiredError,
    IllegalTransitionError,
    StaleVersionError,
)
from cxloop.cases.events import (
    CaseAssigned,
    CaseClosed,
    CaseHandedOver,
    CaseLinked,
    CaseOpened,
    CaseReopened,
    CaseResolved,
    CaseStatusChanged,
    CaseUpdated,
)
from cxloop.cases.fields import check_custom_fields, missing_to_resolve
from cxloop.cases.models import (
    Case,
    CaseConversation,
    CaseLink,
    CaseLinkKind,
    CaseStatus,
    CaseTemplate,
    Category,
    Goal,
    Handover,
    Priority,
)
from cxloop.cases.services import plans, repeats, routing, sla
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events.bus import DomainEvent, publish_all
from cxloop.interactions import conversations
from cxloop.interactions.models import Thread, ThreadStatus
from cxloop.privacy.services import record_audit

DEFAULT_GOAL = "care"
SUBJECT_MAX = 300


@dataclass(frozen=True)
class CaseInput:
    """What a new case needs. The goal defaults to the category's goal, then to "care"."""

    customer: Customer
    subject: str
    goal: Goal | None = None
    category: Category | None = None
    description: str = ""
    priority: str = Priority.NORMAL.value
    owner: User | None = None
    team: Team | None = None
    source_channel: str = ""
    custom_fields: dict[str, Any] = field(default_factory=dict)
    template: CaseTemplate | None = None
    thread: Thread | None = None
    route: bool = True  # let routing rules pick the queue and assignee when no owner is given
    # What the customer's own words said, for routing a case that has no message of theirs (a survey follow-up):
    # routing rules on "sentiment_below" and "emotions" read these when the case has no inbound message.
    sentiment: float | None = None
    emotion: str = ""


@dataclass(frozen=True)
class CaseChanges:
    """Fields to change; None leaves a field as it is."""

    subject: str | None = None
    description: str | None = None
    priority: str | None = None
    goal: Goal | None = None
    category: Category | None = None
    clear_category: bool = False
    custom_fields: dict[str, Any] | None = None


def _check_priority(priority: str) -> None:
    if priority not in Priority.values:
        raise ValidationError("Unknown priority.", fields={"priority": f"must be one of {', '.join(Priority.values)}"})


def _check_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        raise ValidationError("A case needs a subject.", fields={"subject": "must not be empty"})
    if len(subject) > SUBJECT_MAX:
        raise ValidationError("The subject is too long.", fields={"subject": f"at most {SUBJECT_MAX} characters"})
    return subject


def _default_goal(category: Category | None) -> Goal:
    if category is not None and category.goal_id is not None and category.goal is not None:
        return category.goal
    goal = Goal.objects.filter(key=DEFAULT_GOAL).first() or Goal.objects.filter(is_active=True).first()
    if goal is None:
        raise ValidationError("No engagement goal exists.", fields={"goal": "create a goal first"})
    return goal


def _username(user: User | None) -> str:
    return user.username if user is not None else ""


def _team_name(team: Team | None) -> str:
    return team.name if team is not None else ""


def _locked(case: Case, expected_version: int | None) -> Case:
    """The case row, locked for this transaction, checked against the version the caller saw."""
    current = Case.objects.select_for_update().get(pk=case.pk)
    if expected_version is not None and expected_version != current.version:
        raise StaleVersionError(expected_version, current.version)
    return current


def _bump(case: Case, fields: list[str]) -> None:
    case.version += 1
    case.save(update_fields=[*fields, "version", "updated_at"])


@transaction.atomic
def open_case(actor: Actor, data: CaseInput, *, at: datetime | None = None) -> Case:
    """Open a case for a customer: plan from the matching template, route it, start its SLA clocks."""
    actor.require(Perm.CASES_WORK)
    now = at or clock.now()
    subject = _check_subject(data.subject)
    _check_priority(data.priority)
    if not data.customer.is_active:
        raise ValidationError("That customer was merged into another.", fields={"customer": "is merged"})
    custom = check_custom_fields(data.custom_fields)
    if data.owner is not None and not data.owner.is_active:
        raise ValidationError("That user is deactivated.", fields={"owner": "is not active"})
    if data.owner is not None and (actor.user is None or data.owner.pk != actor.user.pk):
        actor.require(Perm.CASES_ASSIGN)
    goal = data.goal or _default_goal(data.category)
    case = Case(
        customer=data.customer,
        goal=goal,
        category=data.category,
        subject=subject,
        description=data.description.strip(),
        priority=data.priority,
        owner=data.owner,
        team=data.team or (data.owner.team if data.owner is not None else None),
        source_channel=data.source_channel,
        custom_fields=custom,
        opened_at=now,
        status=CaseStatus.OPEN if data.owner is not None else CaseStatus.NEW,
        created_by=actor.user,
    )
    case.save()
    if data.thread is not None:
        _link_thread(actor, case, data.thread, now)
    plans.seed_plan(actor, case, data.template, at=now)
    if data.owner is None and data.route:
        decision = routing.decide_case_route(
            case, text=f"{subject}\n{case.description}", sentiment=data.sentiment, emotion=data.emotion
        )
        _apply_route(case, decision)
    _conversations_follow_owner(case)
    sla.start_clocks(case, now)
    repeats.check_new_case(case, at=now)
    record_audit(
        actor,
        "case.opened",
        object_type="case",
        object_id=case.public_id,
        summary=f"#{case.pk} {subject[:120]}",
        after=_snapshot(case),
    )
    events: list[DomainEvent] = [
        CaseOpened(
            case_id=case.public_id,
            customer_id=data.customer.public_id,
            goal=goal.key,
            category=data.category.key if data.category else "",
            priority=case.priority,
            source_channel=case.source_channel,
        )
    ]
    if case.owner_id is not None or case.queue_id is not None:
        events.append(_assigned_event(case))
    publish_all(events)
    return case


def _apply_route(case: Case, decision: routing.RouteDecision | None) -> None:
    if decision is None:
        return
    case.queue = decision.queue
    case.team = decision.team or case.team
    fields = ["queue", "team"]
    if decision.assignee is not None:
        case.owner = decision.assignee
        fields.append("owner")
        if case.status == CaseStatus.NEW:
            case.status = CaseStatus.OPEN
            fields.append("status")
    case.save(update_fields=[*fields, "updated_at"])


def _conversations_follow_owner(case: Case) -> None:
    """The conversations serving a case go with it: whoever owns the case answers its messages in the inbox too,
    so a hand-over never leaves the customer's thread with the previous agent."""
    if case.owner_id is None and case.team_id is None:
        return
    threads = Thread.objects.filter(case_ref=case.public_id).exclude(status=ThreadStatus.CLOSED)
    system = Actor.system("cases")
    for thread in threads.select_related("assigned_to", "team"):
        if case.owner_id is not None and thread.assigned_to_id != case.owner_id:
            conversations.assign_thread(system, thread, user=case.owner, team=case.team)
        elif case.owner_id is None and thread.assigned_to_id is None and thread.team_id != case.team_id:
            conversations.assign_thread(system, thread, user=None, team=case.team)


def _assigned_event(case: Case) -> CaseAssigned:
    return CaseAssigned(
        case_id=case.public_id,
        owner=_username(case.owner),
        team=_team_name(case.team),
        queue=case.queue.key if case.queue is not None else "",
    )


def _snapshot(case: Case) -> dict[str, Any]:
    return {
        "status": case.status,
        "priority": case.priority,
        "goal": case.goal.key,
        "category": case.category.key if case.category else None,
        "owner": _username(case.owner) or None,
        "team": case.team_id,
        "subject": case.subject,
    }


@transaction.atomic
def update_case(actor: Actor, case: Case, changes: CaseChanges, *, expected_version: int | None = None) -> Case:
    actor.require(Perm.CASES_WORK)
    current = _locked(case, expected_version)
    if current.status == CaseStatus.CLOSED:
        raise CaseClosedError("A closed case cannot be changed; open a follow-up case instead.")
    before = _snapshot(current)
    changed: list[str] = []
    if changes.subject is not None and _check_subject(changes.subject) != current.subject:
        current.subject = _check_subject(changes.subject)
        changed.append("subject")
    if changes.description is not None and changes.description.strip() != current.description:
        current.description = changes.description.strip()
        changed.append("description")
    if changes.priority is not None and changes.priority != current.priority:
        _check_priority(changes.priority)
        current.priority = changes.priority
        changed.append("priority")
    if changes.goal is not None and changes.goal.pk != current.goal_id:
        current.goal = changes.goal
        changed.append("goal")
    if changes.clear_category and current.category_id is not None:
        current.category = None
        changed.append("category")
    elif changes.category is not None and changes.category.pk != current.category_id:
        current.category = changes.category
        changed.append("category")
    if changes.custom_fields is not None:
        merged = check_custom_fields({**current.custom_fields, **changes.custom_fields})
        if merged != current.custom_fields:
            current.custom_fields = merged
            changed.append("custom_fields")
    if not changed:
        return current
    _bump(current, changed)
    if {"priority", "category"} & set(changed):
        sla.reevaluate(current, clock.now())
    record_audit(
        actor,
        "case.updated",
        object_type="case",
        object_id=current.public_id,
        summary=f"#{current.pk}: {', '.join(changed)}",
        before=before,
        after=_snapshot(current),
    )
    publish_all([CaseUpdated(case_id=current.public_id, fields=tuple(changed))])
    return current


@transaction.atomic
def change_status(
    actor: Actor,
    case: Case,
    status: str,
    *,
    expected_version: int | None = None,
    goal_achieved: bool | None = None,
    outcome: str = "",
    reason: str = "",
    at: datetime | None = None,
) -> Case:
    """Move the case to `status` if the state machine allows it. Resolving records the outcome: was the goal
    achieved, and how. Reopening (resolved → open) counts as a reopen."""
    actor.require(Perm.CASES_WORK)
    if status not in CaseStatus.values:
        raise ValidationError("Unknown status.", fields={"status": f"must be one of {', '.join(CaseStatus.values)}"})
    current = _locked(case, expected_version)
    previous = current.status
    if previous == status:
        return current
    if not statuses.can_transition(previous, status):
        raise IllegalTransitionError(previous, status, statuses.allowed_transitions(previous))
    now = at or clock.now()
    fields = ["status"]
    if status == CaseStatus.RESOLVED:
        missing = missing_to_resolve(current.custom_fields)
        if missing:
            raise ValidationError(
                "Fill in the fields a resolved case needs.", fields={f"custom_fields.{k}": "required" for k in missing}
            )
        current.resolved_at, current.goal_achieved, current.outcome = now, goal_achieved, outcome.strip()
        fields += ["resolved_at", "goal_achieved", "outcome"]
    elif status == CaseStatus.CLOSED:
        current.closed_at = now
        fields.append("closed_at")
    reopening = statuses.is_reopening(previous, status)
    if reopening:
        current.resolved_at, current.goal_achieved, current.outcome = None, None, ""
        current.reopen_count += 1
        fields += ["resolved_at", "goal_achieved", "outcome", "reopen_count"]
    current.status = status
    _bump(current, fields)
    sla.on_status_changed(current, previous, now)
    record_audit(
        actor,
        "case.status_changed",
        object_type="case",
        object_id=current.public_id,
        summary=f"#{current.pk}: {previous} → {status}" + (f" ({reason[:100]})" if reason else ""),
        before={"status": previous},
        after={"status": status, "goal_achieved": current.goal_achieved, "outcome": current.outcome or None},
    )
    publish_all(_status_events(current, previous, reason))
    return current


def _status_events(case: Case, previous: str, reason: str) -> list[DomainEvent]:
    events: list[DomainEvent] = [CaseStatusChanged(case_id=case.public_id, status=case.status, previous=previous)]
    if case.status == CaseStatus.RESOLVED:
        events.append(
            CaseResolved(
                case_id=case.public_id,
                customer_id=case.customer.public_id,
                goal=case.goal.key,
                goal_achieved=case.goal_achieved,
            )
        )
    elif case.status == CaseStatus.CLOSED:
        events.append(CaseClosed(case_id=case.public_id))
    if statuses.is_reopening(previous, case.status):
        events.append(CaseReopened(case_id=case.public_id, reason=reason or "reopened"))
    return events


def may_reassign(actor: Actor, case: Case, owner: User | None) -> bool:
    """Supervisors move any case; an agent may take an unassigned case or hand over one they own."""
    if actor.can(Perm.CASES_ASSIGN):
        return True
    if not actor.can(Perm.CASES_WORK) or actor.user is None:
        return False
    if case.owner_id == actor.user.pk:
        return True
    return case.owner_id is None and owner is not None and owner.pk == actor.user.pk


@transaction.atomic
def assign_case(
    actor: Actor,
    case: Case,
    *,
    owner: User | None,
    team: Team | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> Case:
    """Give the case to a person and/or team. Moving it away from someone who had it is a hand-over and needs a
    note; the receiver gets a hand-over summary so the customer is never asked again."""
    current = _locked(case, expected_version)
    if not may_reassign(actor, current, owner):
        raise PermissionDeniedError("You may take unassigned cases and hand over your own; ask a supervisor.")
    if current.status == CaseStatus.CLOSED:
        raise CaseClosedError("A closed case cannot be reassigned.")
    if owner is not None and not owner.is_active:
        raise ValidationError("That user is deactivated.", fields={"owner": "is not active"})
    new_team = team if team is not None else (owner.team if owner is not None else current.team)
    if current.owner_id == (owner.pk if owner else None) and current.team_id == (new_team.pk if new_team else None):
        return current
    is_handover = current.owner_id is not None and current.owner_id != (owner.pk if owner else None)
    is_handover = is_handover or (
        current.owner_id is None
        and current.team_id is not None
        and new_team is not None
        and new_team.pk != current.team_id
        and current.status != CaseStatus.NEW
    )
    note = note.strip()
    if is_handover and not note:
        raise HandoverNoteRequiredError()
    previous_owner, previous_team = current.owner, current.team
    current.owner, current.team = owner, new_team
    fields = ["owner", "team"]
    if current.status == CaseStatus.NEW and owner is not None:
        current.status = CaseStatus.OPEN
        fields.append("status")
    handover: Handover | None = None
    if is_handover:
        current.handover_count = F("handover_count") + 1  # type: ignore[assignment]
        fields.append("handover_count")
    _bump(current, fields)
    current.refresh_from_db(fields=["handover_count"])
    if is_handover:
        handover = _record_handover(actor, current, previous_owner, previous_team, note)
    _conversations_follow_owner(current)
    if "team" in fields and previous_team != new_team:
        sla.reevaluate(current, clock.now())
    record_audit(
        actor,
        "case.handed_over" if is_handover else "case.assigned",
        object_type="case",
        object_id=current.public_id,
        summary=f"#{current.pk}: {_username(previous_owner) or 'nobody'} → {_username(owner) or 'nobody'}",
        before={"owner": _username(previous_owner) or None, "team": previous_team.pk if previous_team else None},
        after={"owner": _username(owner) or None, "team": new_team.pk if new_team else None, "note": note or None},
    )
    events: list[DomainEvent] = [_assigned_event(current)]
    if handover is not None:
        events.append(
            CaseHandedOver(
                case_id=current.public_id,
                from_owner=_username(previous_owner),
                to_owner=_username(owner),
                from_team=_team_name(previous_team),
                to_team=_team_name(new_team),
                handover_id=handover.pk,
            )
        )
    publish_all(events)
    return current


def _record_handover(
    actor: Actor, case: Case, previous_owner: User | None, previous_team: Team | None, note: str
) -> Handover:
    from cxloop.accounts.notifications import notify
    from cxloop.cases.queries.handovers import build_handover_summary

    handover = Handover.objects.create(
        case=case,
        from_user=previous_owner,
        to_user=case.owner,
        from_team=previous_team,
        to_team=case.team,
        note=note,
        summary=build_handover_summary(case, note=note, from_user=previous_owner),
        created_at=clock.now(),
        created_by=actor.user,
    )
    if case.owner is not None and (actor.user is None or case.owner.pk != actor.user.pk):
        notify(
            case.owner,
            "case.handed_over",
            f"{actor.label} handed you case #{case.pk}",
            note[:300],
            f"/cases/{case.public_id}/",
        )
    return handover


@transaction.atomic
def acknowledge_handover(actor: Actor, handover: Handover) -> Handover:
    """The receiver read the hand-over summary (it stops showing as new to them). Only the receiver may say so
    (for a hand-over to a team without a person, a member of that team): nobody reads on someone else's behalf."""
    actor.require(Perm.CASES_WORK)
    user = actor.user
    receiver = user is not None and (
        handover.to_user_id == user.pk
        or (handover.to_user_id is None and handover.to_team_id is not None and handover.to_team_id == user.team_id)
    )
    if not receiver:
        raise PermissionDeniedError("Only the receiver of a hand-over can acknowledge it.")
    if handover.acknowledged_at is None:
        handover.acknowledged_at = clock.now()
        handover.save(update_fields=["acknowledged_at"])
    return handover


def _link_thread(actor: Actor, case: Case, thread: Thread, at: datetime) -> CaseConversation:
    if thread.customer_id != case.customer_id:
        raise ValidationError(
            "That conversation belongs to another customer.", fields={"conversation": "other customer"}
        )
    link, _ = CaseConversation.objects.get_or_create(
        case=case, thread=thread, defaults={"linked_at": at, "linked_by": actor.user}
    )
    conversations.link_thread_to_case(thread, case.public_id)
    if not case.source_channel:
        case.source_channel = thread.channel
        case.save(update_fields=["source_channel", "updated_at"])
    return link


@transaction.atomic
def link_conversation(actor: Actor, case: Case, thread: Thread) -> Case:
    """The conversation serves this case from now on: its messages show on the case, replies count for the SLA."""
    actor.require(Perm.CASES_WORK)
    current = _locked(case, None)
    if current.status == CaseStatus.CLOSED:
        raise CaseClosedError("A closed case cannot take new conversations.")
    _link_thread(actor, current, thread, clock.now())
    _conversations_follow_owner(current)
    _bump(current, [])
    record_audit(
        actor,
        "case.conversation_linked",
        object_type="case",
        object_id=current.public_id,
        summary=f"#{current.pk} ← conversation {thread.public_id}",
        after={"conversation": thread.public_id},
    )
    publish_all([CaseUpdated(case_id=current.public_id, fields=("conversations",))])
    return current


@transaction.atomic
def unlink_conversation(actor: Actor, case: Case, thread: Thread) -> Case:
    actor.require(Perm.CASES_WORK)
    current = _locked(case, None)
    deleted, _ = CaseConversation.objects.filter(case=current, thread=thread).delete()
    if not deleted:
        return current
    if thread.case_ref == current.public_id:
        conversations.link_thread_to_case(thread, "")
    _bump(current, [])
    record_audit(
        actor,
        "case.conversation_unlinked",
        object_type="case",
        object_id=current.public_id,
        summary=f"#{current.pk} ↛ conversation {thread.public_id}",
        before={"conversation": thread.public_id},
    )
    return current


@transaction.atomic
def link_cases(actor: Actor, case: Case, other: Case, kind: str) -> CaseLink:
    actor.require(Perm.CASES_WORK)
    if kind not in CaseLinkKind.values:
        raise ValidationError("Unknown link kind.", fields={"kind": f"must be one of {', '.join(CaseLinkKind.values)}"})
    if case.pk == other.pk:
        raise ValidationError("A case cannot link to itself.", fields={"other": "is this case"})
    if kind == CaseLinkKind.CHILD_OF and _is_ancestor(case, other):
        raise ValidationError("That would make a loop of parents.", fields={"other": "is a child of this case"})
    link, created = CaseLink.objects.get_or_create(
        from_case=case, to_case=other, kind=kind, defaults={"created_by": actor.user}
    )
    if created:
        record_audit(
            actor,
            "case.linked",
            object_type="case",
            object_id=case.public_id,
            summary=f"#{case.pk} {kind} #{other.pk}",
            after={"other": other.public_id, "kind": kind},
        )
        publish_all([CaseLinked(case_id=case.public_id, other_case_id=other.public_id, kind=kind)])
    return link


def _is_ancestor(case: Case, other: Case) -> bool:
    """Whether `case` is already a parent (or grandparent…) of `other`."""
    seen: set[int] = set()
    frontier = [other.pk]
    while frontier:
        parents = list(
            CaseLink.objects.filter(from_case_id__in=frontier, kind=CaseLinkKind.CHILD_OF).values_list(
                "to_case_id", flat=True
            )
        )
        if case.pk in parents:
            return True
        frontier = [p for p in parents if p not in seen]
        seen.update(frontier)
    return False


@transaction.atomic
def unlink_cases(actor: Actor, link: CaseLink) -> None:
    actor.require(Perm.CASES_WORK)
    record_audit(
        actor,
        "case.unlinked",
        object_type="case",
        object_id=link.from_case.public_id,
        summary=f"#{link.from_case_id} no longer {link.kind} #{link.to_case_id}",
        before={"other": link.to_case.public_id, "kind": link.kind},
    )
    link.delete()
