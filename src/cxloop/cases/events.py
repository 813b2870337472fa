"""Events of case management (listed in docs/events.md). Ids are public ids; users are usernames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cxloop.events.bus import DomainEvent


@dataclass(frozen=True)
class CaseOpened(DomainEvent):
    name: ClassVar[str] = "case.opened"
    case_id: str
    customer_id: str
    goal: str
    category: str
    priority: str
    source_channel: str


@dataclass(frozen=True)
class CaseUpdated(DomainEvent):
    name: ClassVar[str] = "case.updated"
    case_id: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class CaseStatusChanged(DomainEvent):
    name: ClassVar[str] = "case.status_changed"
    case_id: str
    status: str
    previous: str


@dataclass(frozen=True)
class CaseAssigned(DomainEvent):
    name: ClassVar[str] = "case.assigned"
    case_id: str
    owner: str  # username, empty when unassigned
    team: str  # team name, empty when none
    queue: str  # queue key, empty when none


@dataclass(frozen=True)
class CaseHandedOver(DomainEvent):
    name: ClassVar[str] = "case.handed_over"
    case_id: str
    from_owner: str
    to_owner: str
    from_team: str
    to_team: str
    handover_id: int


@dataclass(frozen=True)
class CaseResolved(DomainEvent):
    name: ClassVar[str] = "case.resolved"
    case_id: str
    customer_id: str
    goal: str
    goal_achieved: bool | None


@dataclass(frozen=True)
class CaseReopened(DomainEvent):
    name: ClassVar[str] = "case.reopened"
    case_id: str
    reason: str


@dataclass(frozen=True)
class CaseClosed(DomainEvent):
    name: ClassVar[str] = "case.closed"
    case_id: str


@dataclass(frozen=True)
class CaseMerged(DomainEvent):
    name: ClassVar[str] = "case.merged"
    case_id: str  # the duplicate, now closed
    into_case_id: str


@dataclass(frozen=True)
class CaseLinked(DomainEvent):
    name: ClassVar[str] = "case.linked"
    case_id: str
    other_case_id: str
    kind: str


@dataclass(frozen=True)
class RepeatContactDetected(DomainEvent):
    name: ClassVar[str] = "case.repeat_contact"
    case_id: str
    previous_case_id: str
    interaction_id: str
    matched_by: str


@dataclass(frozen=True)
class TaskCompleted(DomainEvent):
    name: ClassVar[str] = "case.task_completed"
    case_id: str
    task_id: int
    title: str


@dataclass(frozen=True)
class PromiseMade(DomainEvent):
    name: ClassVar[str] = "promise.made"
    promise_id: str
    customer_id: str
    case_id: str
    owner: str
    due_at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class PromiseDueSoon(DomainEvent):
    """The reminder: an open promise falls due within the reminder window."""

    name: ClassVar[str] = "promise.due_soon"
    promise_id: str
    owner: str
    due_at: str


@dataclass(frozen=True)
class PromiseKept(DomainEvent):
    name: ClassVar[str] = "promise.kept"
    promise_id: str
    case_id: str
    on_time: bool


@dataclass(frozen=True)
class PromiseMissed(DomainEvent):
    name: ClassVar[str] = "promise.missed"
    promise_id: str
    case_id: str
    owner: str
    escalated_to: str  # the supervisor it escalated to (username), empty when none was found


@dataclass(frozen=True)
class PromiseCancelled(DomainEvent):
    name: ClassVar[str] = "promise.cancelled"
    promise_id: str
    reason: str


@dataclass(frozen=True)
class SlaWarning(DomainEvent):
    name: ClassVar[str] = "sla.warning"
    case_id: str
    metric: str
    due_at: str


@dataclass(frozen=True)
class SlaBreached(DomainEvent):
    name: ClassVar[str] = "sla.breached"
    case_id: str
    metric: str
    due_at: str


@dataclass(frozen=True)
class WorkRouted(DomainEvent):
    """Routing put a case or conversation in a queue (and maybe assigned it)."""

    name: ClassVar[str] = "routing.routed"
    kind: str  # case | conversation
    object_id: str
    queue: str
    rule: str
    assignee: str
