"""Schemas of the closed-loop API: follow-ups (loops) with their answer, the measures, and the loop rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from cxloop.feedback.models import Loop, LoopRule
from cxloop.feedback.queries.loops import LoopMetrics
from cxloop.feedback.services.loop_rules import CONDITION_KEYS

CONDITIONS_HELP = (
    f"Keys (each optional, at least one, all must hold): {', '.join(CONDITION_KEYS)}. kinds: nps, csat, ces, custom; "
    "surveys: survey keys; score_at_most: 0-10; sentiment_below: -1 to 1; emotions: anger, frustration, fear, "
    "sadness, joy, surprise (the comment's strongest); has_comment: true or false."
)


class AnswerOut(Schema):
    id: str
    survey: str
    kind: str
    score: int | None
    comment: str
    sentiment: float | None
    sentiment_label: str
    emotion: str
    submitted_at: datetime


class LoopOut(Schema):
    id: str
    state: str
    outcome: str
    outcome_note: str
    customer: str
    customer_name: str
    case: str
    rule: str | None
    owner: str | None
    team: str | None
    opened_at: datetime
    contacted_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    hours_open: float
    answer: AnswerOut

    @staticmethod
    def of(loop: Loop, now: datetime) -> LoopOut:
        response = loop.response
        end = loop.closed_at or now
        return LoopOut(
            id=loop.public_id,
            state=loop.state,
            outcome=loop.outcome,
            outcome_note=loop.outcome_note,
            customer=loop.customer.public_id,
            customer_name=loop.customer.display_name,
            case=loop.case_ref,
            rule=loop.rule.name if loop.rule is not None else None,
            owner=loop.owner.username if loop.owner is not None else None,
            team=loop.team.name if loop.team is not None else None,
            opened_at=loop.opened_at,
            contacted_at=loop.contacted_at,
            closed_at=loop.closed_at,
            closed_by=loop.closed_by.username if loop.closed_by is not None else None,
            hours_open=round(max((end - loop.opened_at).total_seconds(), 0) / 3600, 2),
            answer=AnswerOut(
                id=response.public_id,
                survey=response.survey.key,
                kind=response.kind,
                score=response.score,
                comment=response.comment,
                sentiment=response.sentiment,
                sentiment_label=response.sentiment_label,
                emotion=response.emotion,
                submitted_at=response.submitted_at,
            ),
        )


class LoopPage(Schema):
    items: list[LoopOut]
    next_cursor: str | None


class LoopFilter(Schema):
    state: str = Field(default="active", description="active (open or contacted), open, contacted, resolved or empty")
    owner: str = Field(default="", max_length=150, description="A username; '-' for follow-ups nobody owns")
    rule: str = Field(default="", max_length=32, description="A loop rule's id")
    age: str = Field(default="", description="How long ago it opened: lt24, 24to48, 2to7d or gt7d")
    customer: str = Field(default="", max_length=32, description="A customer's id")
    cursor: str | None = None
    limit: int = Field(default=25, description="1 to 200")


class ContactIn(Schema):
    at: datetime | None = Field(default=None, description="When the customer was reached; now when left out")


class CloseIn(Schema):
    outcome: str = Field(description="recovered, partly, not_recovered or no_response")
    note: str = Field(default="", max_length=5000, description="What was done and said (at most 1000 characters)")


class MetricsFilter(Schema):
    since: datetime | None = Field(default=None, description="Loops opened from (default: 30 days ago)")
    until: datetime | None = Field(default=None, description="Loops opened before (default: now)")
    within_hours: int = Field(default=48, description="'Closed within X hours' (1 to 2160)")


class OwnerLoadOut(Schema):
    owner: str | None
    owner_name: str | None
    open: int
    contacted: int
    oldest_opened_at: datetime


class AgeCountOut(Schema):
    age: str
    label: str
    count: int


class LoopMetricsOut(Schema):
    since: datetime
    until: datetime
    within_hours: int
    opened: int
    closed: int
    closed_within: int
    closed_within_share: float | None = Field(description="closed_within / opened; null when none opened")
    median_hours_to_contact: float | None
    median_hours_to_close: float | None
    outcomes: dict[str, int]
    open_now: int
    open_by_owner: list[OwnerLoadOut]
    open_by_age: list[AgeCountOut]

    @staticmethod
    def of(metrics: LoopMetrics) -> LoopMetricsOut:
        return LoopMetricsOut(
            since=metrics.since,
            until=metrics.until,
            within_hours=metrics.within_hours,
            opened=metrics.opened,
            closed=metrics.closed,
            closed_within=metrics.closed_within,
            closed_within_share=metrics.closed_within_share,
            median_hours_to_contact=metrics.median_hours_to_contact,
            median_hours_to_close=metrics.median_hours_to_close,
            outcomes=metrics.outcomes,
            open_now=metrics.open_now,
            open_by_owner=[
                OwnerLoadOut(
                    owner=row.owner.username if row.owner is not None else None,
                    owner_name=row.owner.display_name if row.owner is not None else None,
                    open=row.open,
                    contacted=row.contacted,
                    oldest_opened_at=row.oldest_opened_at,
                )
                for row in metrics.open_by_owner
            ],
            open_by_age=[AgeCountOut(age=key, label=label, count=count) for key, label, count in metrics.open_by_age],
        )


class LoopRuleOut(Schema):
    id: str
    name: str
    position: int
    is_active: bool
    conditions: dict[str, Any]
    category: str | None
    goal: str | None
    priority: str
    assign_to_agent: bool
    owner: str | None
    team: int | None

    @staticmethod
    def of(rule: LoopRule) -> LoopRuleOut:
        return LoopRuleOut(
            id=rule.public_id,
            name=rule.name,
            position=rule.position,
            is_active=rule.is_active,
            conditions=rule.conditions,
            category=rule.category.key if rule.category is not None else None,
            goal=rule.goal.key if rule.goal is not None else None,
            priority=rule.priority,
            assign_to_agent=rule.assign_to_agent,
            owner=rule.owner.username if rule.owner is not None else None,
            team=rule.team_id,
        )


class LoopRuleIn(Schema):
    name: str = Field(max_length=200)
    conditions: Any = Field(description=CONDITIONS_HELP)
    is_active: bool = True
    category: str | None = Field(default=None, max_length=60, description="A case category's key")
    goal: str | None = Field(default=None, max_length=60, description="An engagement goal's key")
    priority: str = Field(default="high", description="low, normal, high or urgent")
    assign_to_agent: bool = Field(default=True, description="Give the follow-up to the agent who served the customer")
    owner: str | None = Field(default=None, max_length=150, description="A username: the follow-up's owner otherwise")
    team: int | None = Field(default=None, description="A team's id")


class LoopRuleUpdate(Schema):
    """Fields left out stay as they are; null on category, goal, owner or team clears it."""

    name: str | None = Field(default=None, max_length=200)
    conditions: Any = Field(default=None, description=CONDITIONS_HELP)
    is_active: bool | None = None
    category: str | None = Field(default=None, max_length=60)
    goal: str | None = Field(default=None, max_length=60)
    priority: str | None = None
    assign_to_agent: bool | None = None
    owner: str | None = Field(default=None, max_length=150)
    team: int | None = None


class LoopRuleOrderIn(Schema):
    ids: list[str] = Field(max_length=1000, description="Every rule's id, in the order they are tried")
