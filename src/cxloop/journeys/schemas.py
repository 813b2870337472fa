"""Schemas of the journeys API (/api/v1/journeys…)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from cxloop.journeys.analytics import JourneyAnalytics, Summary, VersionFigures
from cxloop.journeys.dry_run import DryRun
from cxloop.journeys.models import Enrolment, EnrolmentStep, Journey, JourneyVersion


class VersionOut(Schema):
    number: int
    note: str
    syntax: str = Field(description="yaml or json: how `source` is written")
    created_by: str | None
    created_at: datetime

    @staticmethod
    def of(version: JourneyVersion) -> VersionOut:
        return VersionOut(
            number=version.number,
            note=version.note,
            syntax=version.syntax,
            created_by=version.created_by.get_username() if version.created_by else None,
            created_at=version.created_at,
        )


class VersionDetailOut(VersionOut):
    document: dict[str, Any]
    source: str

    @staticmethod
    def of(version: JourneyVersion) -> VersionDetailOut:
        return VersionDetailOut(**VersionOut.of(version).model_dump(), document=version.document, source=version.source)


class JourneyOut(Schema):
    id: str
    key: str
    name: str
    description: str
    status: str = Field(description="draft, active, paused or archived")
    trigger_kind: str = Field(description="event, segment, date_attribute or manual (from the current version)")
    trigger_event_type: str = Field(description="The event type of an event trigger, else empty")
    version: int | None = Field(description="The current version's number")
    entered: int | None = Field(default=None, description="Enrolments made (lists only)")
    active: int | None = Field(default=None, description="Enrolments still in the journey (lists only)")
    goal: int | None = Field(default=None, description="Enrolments that reached the goal (lists only)")
    conversion: float | None = Field(default=None, description="goal / entered (lists only)")
    paused_at: datetime | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def fields_of(journey: Journey, summary: Summary | None = None) -> dict[str, Any]:
        return {
            "id": journey.public_id,
            "key": journey.key,
            "name": journey.name,
            "description": journey.description,
            "status": journey.status,
            "trigger_kind": journey.trigger_kind,
            "trigger_event_type": journey.trigger_event_type,
            "version": journey.current_version.number if journey.current_version else None,
            "entered": summary.entered if summary else None,
            "active": summary.active if summary else None,
            "goal": summary.goal if summary else None,
            "conversion": summary.conversion if summary else None,
            "paused_at": journey.paused_at,
            "archived_at": journey.archived_at,
            "created_at": journey.created_at,
            "updated_at": journey.updated_at,
        }

    @staticmethod
    def of(journey: Journey, summary: Summary | None = None) -> JourneyOut:
        return JourneyOut(**JourneyOut.fields_of(journey, summary))


class JourneyDetailOut(JourneyOut):
    document: dict[str, Any] | None = Field(description="The current version's document, as validated")
    source: str = Field(description="The current version's text, as its author wrote it")
    syntax: str
    versions: list[VersionOut] = Field(description="Newest first")

    @staticmethod
    def of_detail(journey: Journey, versions: list[JourneyVersion]) -> JourneyDetailOut:
        current = journey.current_version
        return JourneyDetailOut(
            **JourneyOut.fields_of(journey),
            document=current.document if current else None,
            source=current.source if current else "",
            syntax=current.syntax if current else "yaml",
            versions=[VersionOut.of(v) for v in versions],
        )


class JourneyPage(Schema):
    items: list[JourneyOut]
    next_cursor: str | None


class JourneyFilter(Schema):
    status: str = Field(default="", description="draft, active, paused or archived (default: all but archived)")
    trigger: str = Field(default="", description="event, segment, date_attribute or manual")
    q: str = Field(default="", max_length=200, description="Part of the name or key")
    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


class JourneySource(Schema):
    """A document as text (`source`, YAML or JSON) or as a JSON object (`document`): exactly one of them."""

    source: str | None = Field(default=None, description="The document as YAML or JSON text (comments are kept)")
    syntax: str = Field(default="yaml", description="yaml or json: how `source` is written")
    document: dict[str, Any] | None = Field(default=None, description="The document as a JSON object")


class VersionCreate(JourneySource):
    note: str = Field(default="", max_length=500, description="What changed (default: the document's version_note)")


class ExampleOut(Schema):
    name: str
    key: str
    title: str
    description: str
    source: str


class StepFiguresOut(Schema):
    step: str
    now: int = Field(description="Running enrolments at this step")
    passed: int = Field(description="Enrolments whose history has this step")


class DayOut(Schema):
    day: date
    entered: int


class VersionFiguresOut(Schema):
    version: int
    entered: int
    active: int
    goal: int
    exited: int
    failed: int
    conversion: float | None

    @staticmethod
    def of(figures: VersionFigures) -> VersionFiguresOut:
        return VersionFiguresOut(
            version=figures.version,
            entered=figures.entered,
            active=figures.active,
            goal=figures.goal,
            exited=figures.exited,
            failed=figures.failed,
            conversion=figures.conversion,
        )


class AnalyticsOut(Schema):
    version: int | None = Field(description="The version these figures are of; null: all versions together")
    entered: int
    active: int = Field(description="Still in the journey")
    goal: int = Field(description="Reached the goal")
    exited: int
    failed: int
    conversion: float | None = Field(description="goal / entered; null before anyone entered")
    exited_by_reason: dict[str, int]
    steps: list[StepFiguresOut] = Field(description="In the order of the (current or chosen) version's document")
    per_day: list[DayOut] = Field(description="Entries per day, oldest first, in the business's time zone")
    versions: list[VersionFiguresOut] = Field(description="Per version, newest first")

    @staticmethod
    def of(figures: JourneyAnalytics, order: list[str], versions: list[VersionFigures]) -> AnalyticsOut:
        return AnalyticsOut(
            version=figures.version,
            entered=figures.entered,
            active=figures.active,
            goal=figures.goal,
            exited=figures.exited,
            failed=figures.failed,
            conversion=figures.conversion,
            exited_by_reason=figures.exited_by_reason,
            steps=[StepFiguresOut(step=s.step, now=s.now, passed=s.passed) for s in figures.steps(order)],
            per_day=[DayOut(day=d, entered=n) for d, n in figures.per_day],
            versions=[VersionFiguresOut.of(v) for v in versions],
        )


class AnalyticsFilter(Schema):
    version: int | None = Field(default=None, ge=1, description="One version's figures (default: all versions)")
    days: int = Field(default=30, ge=1, le=366, description="How many days the entries-per-day trend covers")


class EnrolmentOut(Schema):
    id: str
    journey: str = Field(description="The journey's key")
    version: int
    customer: str = Field(description="The customer's id (cus_…)")
    customer_name: str
    state: str = Field(description="active, goal, exited or failed")
    step: str = Field(description="The step it is at (its last step once finished)")
    waiting_for: str = Field(description="The event type a wait is waiting for, else empty")
    trigger_ref: str
    entered_at: datetime
    finished_at: datetime | None
    exit_reason: str

    @staticmethod
    def of(enrolment: Enrolment) -> EnrolmentOut:
        return EnrolmentOut(
            id=enrolment.public_id,
            journey=enrolment.journey.key,
            version=enrolment.version.number,
            customer=enrolment.customer.public_id,
            customer_name=enrolment.customer.display_name,
            state=enrolment.state,
            step=enrolment.step,
            waiting_for=enrolment.waiting_for,
            trigger_ref=enrolment.trigger_ref,
            entered_at=enrolment.entered_at,
            finished_at=enrolment.finished_at,
            exit_reason=enrolment.exit_reason,
        )


class HistoryOut(Schema):
    seq: int
    step: str
    kind: str
    outcome: str = Field(description="entered, done, waiting, woken, timeout, branch, goal, …")
    at: datetime
    due_at: datetime | None
    detail: dict[str, Any] = Field(description="Why: the branch taken and the values read, the message made, …")

    @staticmethod
    def of(row: EnrolmentStep) -> HistoryOut:
        return HistoryOut(
            seq=row.seq,
            step=row.step,
            kind=row.kind,
            outcome=row.outcome,
            at=row.at,
            due_at=row.due_at,
            detail=row.detail,
        )


class EnrolmentDetailOut(EnrolmentOut):
    context: dict[str, Any] = Field(description="What enrolled the customer (the trigger event)")
    history: list[HistoryOut]

    @staticmethod
    def of_detail(enrolment: Enrolment, history: list[EnrolmentStep]) -> EnrolmentDetailOut:
        return EnrolmentDetailOut(
            **EnrolmentOut.of(enrolment).model_dump(),
            context=enrolment.context,
            history=[HistoryOut.of(h) for h in history],
        )


class EnrolmentPage(Schema):
    items: list[EnrolmentOut]
    next_cursor: str | None


class EnrolmentFilter(Schema):
    state: str = Field(default="", description="active, goal, exited or failed")
    step: str = Field(default="", max_length=100)
    version: int | None = Field(default=None, ge=1)
    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


class EnrolmentCreate(Schema):
    customer: str = Field(max_length=40, description="The customer's id (cus_…)")
    context: dict[str, Any] | None = Field(default=None, description="Values the journey's conditions may read")


class EnrolmentRemove(Schema):
    reason: str = Field(default="removed by staff", min_length=1, max_length=300)


class SampleEvent(Schema):
    type: str = Field(max_length=100, description="The event type, e.g. product.used")
    at: datetime | None = Field(default=None, description="When it happens (default: as soon as a wait listens)")
    properties: dict[str, Any] = Field(default_factory=dict)


class DryRunCreate(Schema):
    customer: str = Field(max_length=40, description="The sample customer's id (cus_…)")
    events: list[SampleEvent] = Field(default_factory=list, max_length=100, description="Events the customer sends")
    start: datetime | None = Field(default=None, description="When the customer enters (default: now)")
    source: str | None = Field(default=None, description="An unsaved document to try instead of the current one")
    syntax: str = Field(default="yaml")


class DryRunStepOut(Schema):
    step: str
    kind: str
    at: datetime
    outcome: str = Field(description="entered, sent, branch, waiting, woken, timeout, …, exit, goal")
    why: str
    detail: dict[str, Any]


class DryRunOut(Schema):
    journey: str
    customer: str
    started_at: datetime
    steps: list[DryRunStepOut]
    outcome: str = Field(description="exited, goal, not_enrolled or unfinished (the step limit was reached)")
    reason: str

    @staticmethod
    def of(result: DryRun) -> DryRunOut:
        return DryRunOut(
            journey=result.journey,
            customer=result.customer_id,
            started_at=result.started_at,
            steps=[
                DryRunStepOut(step=s.step, kind=s.kind, at=s.at, outcome=s.outcome, why=s.why, detail=dict(s.detail))
                for s in result.steps
            ],
            outcome=result.outcome,
            reason=result.reason,
        )
