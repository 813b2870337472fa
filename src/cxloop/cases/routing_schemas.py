"""Schemas of the routing API: queues with members, rules with conditions, the preview, agents' availability."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field

from cxloop.cases.models import Queue, RoutingRule
from cxloop.cases.queries import routing as routing_queries
from cxloop.cases.services.routing import CONDITION_KEYS

CONDITIONS_HELP = (
    f"Keys (each optional, all must hold; lists mean 'any of'): {', '.join(CONDITION_KEYS)}. "
    "sentiment_below is a number from -1 to 1; goals, categories and priorities only for rules that apply to cases."
)


class QueueOut(Schema):
    id: int
    key: str
    name: str
    team: int | None
    team_name: str | None
    assignment_mode: str
    is_default: bool
    members: list[str]
    last_assigned: str | None

    @staticmethod
    def of(queue: Queue) -> QueueOut:
        return QueueOut(
            id=queue.pk,
            key=queue.key,
            name=queue.name,
            team=queue.team_id,
            team_name=queue.team.name if queue.team is not None else None,
            assignment_mode=queue.assignment_mode,
            is_default=queue.is_default,
            members=routing_queries.member_usernames(queue),
            last_assigned=queue.last_assigned_user.username if queue.last_assigned_user is not None else None,
        )


class QueueIn(Schema):
    key: str = Field(max_length=50, description="Lower-case letters, digits, '_' or '-'; cannot change later")
    name: str = Field(max_length=200)
    team: int | None = Field(default=None, description="A team's id")
    assignment_mode: str = Field(default="manual", description="manual, round_robin or load_balanced")
    is_default: bool = Field(default=False, description="Where work goes when no rule matches (only one queue)")
    members: list[str] = Field(default_factory=list, max_length=500, description="Usernames")


class QueueUpdate(Schema):
    name: str | None = Field(default=None, max_length=200)
    team: int | None = Field(default=None, description="A team's id")
    clear_team: bool = Field(default=False, description="The queue serves no team any more")
    assignment_mode: str | None = None
    is_default: bool | None = None


class MembersIn(Schema):
    usernames: list[str] = Field(max_length=500)


class MemberIn(Schema):
    username: str = Field(max_length=150)


class RuleOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    applies_to: str
    conditions: dict[str, Any]
    queue: str

    @staticmethod
    def of(rule: RoutingRule) -> RuleOut:
        return RuleOut(
            id=rule.pk,
            name=rule.name,
            position=rule.position,
            is_active=rule.is_active,
            applies_to=rule.applies_to,
            conditions=rule.conditions,
            queue=rule.queue.key,
        )


class RuleIn(Schema):
    name: str = Field(max_length=200)
    queue: str = Field(max_length=50, description="The queue's key")
    applies_to: str = Field(default="both", description="cases, conversations or both")
    conditions: Any = Field(default_factory=dict, description=CONDITIONS_HELP)
    is_active: bool = True


class RuleUpdate(Schema):
    name: str | None = Field(default=None, max_length=200)
    queue: str | None = Field(default=None, max_length=50)
    applies_to: str | None = None
    conditions: Any = Field(default=None, description=CONDITIONS_HELP)
    is_active: bool | None = None


class RuleOrderIn(Schema):
    ids: list[int] = Field(max_length=1000, description="Every rule's id, in the order they are tried")


class PreviewIn(Schema):
    target: str = Field(default="cases", description="cases or conversations")
    channel: str = Field(default="", max_length=16)
    text: str = Field(default="", max_length=20_000, description="Subject and message text")
    customer_id: str = Field(default="", max_length=40, description="The customer's public id (language and tier)")
    language: str = Field(default="", max_length=16, description="Overrides the customer's language")
    goal: str = Field(default="", max_length=50)
    category: str = Field(default="", max_length=60)
    priority: str = Field(default="", max_length=10)
    sentiment: float | None = Field(default=None, description="From -1 to 1, as text analytics scores it")
    emotion: str = Field(default="", max_length=30)


class RuleCheckOut(Schema):
    rule: str
    rule_id: int
    matched: bool
    reason: str


class PreviewOut(Schema):
    queue: str | None
    rule: str | None
    assignee: str | None
    summary: str
    checks: list[RuleCheckOut]
    language: str
    customer_tier: str

    @staticmethod
    def of(explanation: routing_queries.RouteExplanation) -> PreviewOut:
        return PreviewOut(
            queue=explanation.queue.key if explanation.queue is not None else None,
            rule=explanation.rule.name if explanation.rule is not None else None,
            assignee=explanation.assignee.username if explanation.assignee is not None else None,
            summary=explanation.summary,
            checks=[
                RuleCheckOut(rule=c.rule.name, rule_id=c.rule.pk, matched=c.matched, reason=c.reason)
                for c in explanation.checks
            ],
            language=explanation.facts.language,
            customer_tier=explanation.facts.customer_tier,
        )


class AgentOut(Schema):
    username: str
    name: str
    team: str | None
    status: str
    capacity: int
    open_cases: int
    open_conversations: int
    load: int
    has_room: bool

    @staticmethod
    def of(row: routing_queries.AgentWorkload) -> AgentOut:
        return AgentOut(
            username=row.user.username,
            name=row.user.display_name,
            team=row.team.name if row.team is not None else None,
            status=row.status,
            capacity=row.capacity,
            open_cases=row.open_cases,
            open_conversations=row.open_conversations,
            load=row.load,
            has_room=row.has_room,
        )


class AvailabilityIn(Schema):
    status: str | None = Field(default=None, description="available, away or offline")
    capacity: int | None = Field(default=None, description="Most open cases and conversations at once (0-500)")
