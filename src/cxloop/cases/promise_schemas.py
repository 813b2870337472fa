"""Schemas of the promises API (/api/v1/promises, /api/v1/customers/{id}/promises-link)."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from cxloop.cases.models import Promise, PromiseStatus
from cxloop.cases.queries.promises import KeptRate


class PromiseOut(Schema):
    id: str
    customer: str
    customer_name: str
    case: str | None
    description: str
    due_at: datetime
    owner: str | None
    team: int | None
    channel: str
    status: str = Field(description=f"One of {', '.join(PromiseStatus.values)}")
    was_missed: bool = Field(description="Its due time passed while it was open (a late keep keeps this)")
    made_at: datetime
    made_by: str | None
    reminded_at: datetime | None
    missed_at: datetime | None
    escalated_to: str | None
    kept_at: datetime | None
    kept_by: str | None
    cancelled_at: datetime | None
    resolution_note: str

    @staticmethod
    def of(promise: Promise) -> PromiseOut:
        def name(user: object) -> str | None:
            return getattr(user, "username", None)

        return PromiseOut(
            id=promise.public_id,
            customer=promise.customer.public_id,
            customer_name=promise.customer.name,
            case=promise.case.public_id if promise.case is not None else None,
            description=promise.description,
            due_at=promise.due_at,
            owner=name(promise.owner),
            team=promise.team_id,
            channel=promise.channel,
            status=promise.status,
            was_missed=promise.was_missed,
            made_at=promise.made_at,
            made_by=name(promise.made_by),
            reminded_at=promise.reminded_at,
            missed_at=promise.missed_at,
            escalated_to=name(promise.escalated_to),
            kept_at=promise.kept_at,
            kept_by=name(promise.kept_by),
            cancelled_at=promise.cancelled_at,
            resolution_note=promise.resolution_note,
        )


class PromisePage(Schema):
    items: list[PromiseOut]
    next_cursor: str | None


class PromiseFilter(Schema):
    status: str = Field(default="", description="One status or several, comma-separated; empty for all")
    owner: str = Field(default="", max_length=150, description='A username, or "me"')
    customer: str = Field(default="", max_length=40, description="A customer's id")
    case: str = Field(default="", max_length=40, description="A case's id")
    due_before: datetime | None = Field(default=None, description="Only promises due before this time")
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


class PromiseCreate(Schema):
    customer: str = Field(max_length=40, description="The customer's id")
    description: str = Field(max_length=2000, description="What was promised, in words the customer would use")
    due_at: datetime | None = Field(default=None, description="When it must be done by (required, in the future)")
    owner: str | None = Field(default=None, max_length=150, description="Username; default: you")
    channel: str = Field(default="", max_length=16, description="Where it was promised: phone, email, chat…")
    case: str | None = Field(default=None, max_length=40, description="The case it belongs to, if any")


class PromiseKeep(Schema):
    note: str = Field(default="", max_length=2000)


class PromiseCancel(Schema):
    reason: str = Field(default="", max_length=2000, description="Why it no longer applies (required)")


class PromiseReschedule(Schema):
    due_at: datetime | None = Field(default=None, description="The new due time (required, in the future)")
    reason: str = Field(default="", max_length=2000, description="Why it moves (required)")


class KeptRateFilter(Schema):
    by: str = Field(default="owner", description="owner or team")
    since: datetime | None = Field(default=None, description="Promises due from this time")
    until: datetime | None = Field(default=None, description="Promises due before this time")


class KeptRateOut(Schema):
    key: str = Field(description="The username, or the team's id; empty for none")
    label: str
    kept_on_time: int
    kept_late: int
    missed: int = Field(description="Missed and still not kept")
    open: int
    total: int = Field(description="All promises due in the period but cancelled ones")
    rate: float | None = Field(description="kept on time / (kept + missed); null while none has come due")

    @staticmethod
    def of(row: KeptRate) -> KeptRateOut:
        return KeptRateOut(
            key=row.key,
            label=row.label,
            kept_on_time=row.kept_on_time,
            kept_late=row.kept_late,
            missed=row.missed,
            open=row.open,
            total=row.total,
            rate=row.rate,
        )


class PromisesLinkOut(Schema):
    url: str = Field(description="The customer's signed 'what we promised you' page, to send them")
    expires_in_days: int
