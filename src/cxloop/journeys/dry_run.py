"""A dry run: the path a customer would take through a journey, step by step, with when and why — writing nothing.

The author gives a document (saved or not), a real customer (their profile, attributes, tags and stored events
are read) and imagined events with their times. The run walks the document as the engine would: the trigger
event (the first given event of the trigger's type, if any) is the context; each branch shows the branch
taken and the values its condition read; a wait for an event ends at the first imagined event of that type
(and `where`) before its timeout, else times out; the goal is checked before each step and whenever an
imagined event comes during a wait. Side effects are described, never made; governance (consent, quiet
hours, fatigue) decides at the real send.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cxloop.core import clock
from cxloop.customers.models import Customer
from cxloop.journeys.conditions import (
    ACTIVITY,
    DatabaseEvents,
    EventFacts,
    Facts,
    Verdict,
    evaluate,
    event_types_named,
    facts_for,
)
from cxloop.journeys.elements import (
    BranchStep,
    DateAttributeTrigger,
    EventTrigger,
    ExitStep,
    JourneyDocument,
    OpenCaseStep,
    SendMessageStep,
    SendSurveyStep,
    SetAttributeStep,
    Step,
    TagStep,
    WaitStep,
    WebhookStep,
    step_kind,
)
from cxloop.journeys.steps import customer_zone, describe_wait, wait_due

MAX_STEPS = 200


@dataclass(frozen=True)
class DryRunEvent:
    """An imagined customer event: its type, when it happens, its properties."""

    type: str
    at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DryRunStep:
    step: str
    kind: str
    at: datetime
    outcome: str  # entered, sent, branch, waiting, waited, woken, timeout, opened, …, exit, goal
    why: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DryRun:
    """The path: `outcome` is exited, goal, not_enrolled or unfinished (the step limit was reached)."""

    journey: str
    customer_id: str
    started_at: datetime
    steps: tuple[DryRunStep, ...]
    outcome: str
    reason: str


class _Events:
    """The customer's stored events plus the imagined ones up to the simulated moment."""

    def __init__(self, imagined: Sequence[DryRunEvent]) -> None:
        self.imagined = imagined
        self.until: datetime | None = None
        self.database = DatabaseEvents()

    def _extra(self, event_type: str, since: datetime | None) -> list[EventFacts]:
        return [
            EventFacts(e.type, e.at, e.properties)
            for e in self.imagined
            if event_type in (e.type, ACTIVITY)
            and (since is None or e.at >= since)
            and (self.until is None or e.at <= self.until)
        ]

    def count(self, customer_pk: int | None, event_type: str, since: datetime | None) -> int:
        return self.database.count(customer_pk, event_type, since) + len(self._extra(event_type, since))

    def events(self, customer_pk: int | None, event_type: str, since: datetime | None) -> Sequence[EventFacts]:
        return [*self._extra(event_type, since), *self.database.events(customer_pk, event_type, since)]


@dataclass
class _Walk:
    document: JourneyDocument
    customer: Customer
    source: _Events
    trigger_event: EventFacts | None
    steps: list[DryRunStep] = field(default_factory=list)

    def facts(self, at: datetime, event: EventFacts | None = None) -> Facts:
        self.source.until = at
        return facts_for(self.customer, now=at, event=event or self.trigger_event)

    def check(self, condition: Any, at: datetime, event: EventFacts | None = None) -> Verdict:
        return evaluate(condition, self.facts(at, event), self.source)

    def add(self, step: Step, at: datetime, outcome: str, why: str, detail: Mapping[str, Any] | None = None) -> None:
        self.steps.append(DryRunStep(step.id, step_kind(step), at, outcome, why, dict(detail or {})))


def dry_run(
    document: JourneyDocument, customer: Customer, *, events: Sequence[DryRunEvent] = (), start: datetime | None = None
) -> DryRun:
    """The path `customer` would take through `document`, given imagined `events`; writes nothing."""
    ordered = sorted(events, key=lambda e: e.at)
    trigger = document.trigger
    trigger_event: EventFacts | None = None
    if isinstance(trigger, EventTrigger):
        first = next((e for e in ordered if e.type == trigger.event_type and (start is None or e.at >= start)), None)
        if first is not None:
            trigger_event = EventFacts(first.type, first.at, first.properties, "dry-run")
            start = start or first.at
    begin = start or clock.now()
    walk = _Walk(document, customer, _Events(ordered), trigger_event)
    entry = document.step(document.entry)
    conditions = trigger.conditions if isinstance(trigger, EventTrigger | DateAttributeTrigger) else None
    if conditions is not None:
        verdict = walk.check(conditions, begin)
        if not verdict.holds:
            why = "the trigger's conditions do not hold"
            walk.add(entry, begin, "not_enrolled", why, {"checks": verdict.checks})
            return _result(document, customer, begin, walk, "not_enrolled", why)
    why = (
        f"{trigger_event.type} at {begin.isoformat()}"
        if trigger_event is not None
        else f"enrolled at {begin.isoformat()} ({_trigger_text(document)})"
    )
    walk.add(entry, begin, "entered", why)
    return _walk(walk, begin)


def _trigger_text(document: JourneyDocument) -> str:
    trigger = document.trigger
    if isinstance(trigger, EventTrigger):
        return f"no {trigger.event_type} event given: as if it came now"
    return f"{type(trigger).__name__.removesuffix('Trigger').lower()} trigger"


def _walk(walk: _Walk, at: datetime) -> DryRun:
    document, current = walk.document, walk.document.entry
    for _ in range(MAX_STEPS):
        step = document.step(current)
        goal = walk.check(document.goal, at) if document.goal is not None else None
        if goal is not None and goal.holds:
            walk.add(step, at, "goal", "the goal holds", {"checks": goal.checks})
            return _result(document, walk.customer, walk.steps[0].at, walk, "goal", "goal reached")
        if isinstance(step, ExitStep):
            walk.add(step, at, "exit", step.reason or "exit step")
            return _result(document, walk.customer, walk.steps[0].at, walk, "exited", step.reason or "exit step")
        if isinstance(step, WaitStep):
            ended = _wait(walk, step, at)
            if ended is None:
                return _result(document, walk.customer, walk.steps[0].at, walk, "goal", "goal reached during a wait")
            current, at = ended
            continue
        if isinstance(step, BranchStep):
            current = _branch(walk, step, at)
            continue
        why, detail = _effect(step)
        walk.add(step, at, "would_run", why, detail)
        current = step.next  # type: ignore[union-attr]
    return _result(document, walk.customer, walk.steps[0].at, walk, "unfinished", f"stopped after {MAX_STEPS} steps")


def _wait(walk: _Walk, step: WaitStep, at: datetime) -> tuple[str, datetime] | None:
    due = wait_due(step, at, customer_zone(walk.customer))
    walk.add(step, at, "waiting", f"waits until {due.isoformat()}", {**describe_wait(step), "until": due.isoformat()})
    goal_types = event_types_named(walk.document.goal) if walk.document.goal is not None else set()
    for event in walk.source.imagined:
        if not (at < event.at <= due):
            continue
        facts = EventFacts(event.type, event.at, event.properties, "dry-run")
        if goal_types & {event.type, "*", ACTIVITY}:
            goal = walk.check(walk.document.goal, event.at)
            if goal.holds:
                walk.add(step, event.at, "goal", f"{event.type} came and the goal holds", {"checks": goal.checks})
                return None
        if step.event_type in (event.type, ACTIVITY):
            verdict = walk.check(step.where, event.at, facts)
            if verdict.holds:
                detail = {"event": event.type, "checks": verdict.checks} if step.where else {"event": event.type}
                walk.add(step, event.at, "woken", f"{event.type} came at {event.at.isoformat()}", detail)
                return step.next, event.at
    if step.event_type is not None:
        target = step.on_timeout or step.next
        walk.add(step, due, "timeout", f"no {step.event_type} before {due.isoformat()}", {"next": target})
        return target, due
    walk.add(step, due, "waited", f"the wait ended at {due.isoformat()}", {"next": step.next})
    return step.next, due


def _branch(walk: _Walk, step: BranchStep, at: datetime) -> str:
    tried: list[dict[str, Any]] = []
    for number, branch in enumerate(step.branches, start=1):
        label = branch.label or f"branch {number}"
        verdict = walk.check(branch.when, at)
        tried.append({"branch": label, "result": verdict.holds, "checks": verdict.checks})
        if verdict.holds:
            walk.add(step, at, "branch", f"took {label}: its condition holds", {"taken": label, "tried": tried})
            return branch.then
    walk.add(step, at, "branch", "took otherwise: no branch's condition holds", {"taken": "otherwise", "tried": tried})
    return step.otherwise


def _effect(step: Step) -> tuple[str, dict[str, Any]]:
    if isinstance(step, SendMessageStep):
        why = f"would send {step.template} by {step.channel} ({step.purpose}; consent and quiet hours apply then)"
        return why, {"channel": step.channel, "template": step.template}
    if isinstance(step, OpenCaseStep):
        return f"would open a {'task' if step.is_task else 'case'}: {step.subject}", {"subject": step.subject}
    if isinstance(step, SendSurveyStep):
        return f"would invite to the survey {step.survey} by {step.channel}", {"survey": step.survey}
    if isinstance(step, SetAttributeStep):
        return f"would set {step.attribute} to {step.value!r}", {"attribute": step.attribute, "value": step.value}
    if isinstance(step, TagStep):
        return "would change tags", {"add": list(step.add), "remove": list(step.remove)}
    assert isinstance(step, WebhookStep)
    return f"would call {step.url}", {"url": step.url}


def _result(
    document: JourneyDocument, customer: Customer, started: datetime, walk: _Walk, outcome: str, reason: str
) -> DryRun:
    return DryRun(document.key, customer.public_id, started, tuple(walk.steps), outcome, reason)
