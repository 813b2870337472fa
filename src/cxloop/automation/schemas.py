"""Schemas of the automation API: rules (with their trigger, conditions and actions), the run log, the triggers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from cxloop.automation.definitions import action_summary
from cxloop.automation.models import Rule, RuleRun, RunStatus
from cxloop.automation.queries import TriggerChoice
from cxloop.core.pagination import MAX_LIMIT

CONDITIONS_HELP = (
    "A journey condition (docs/journeys.md): {all: [...]}, {any: [...]}, {not: ...}, "
    "{field, operator, value} with fields profile.<name>, attributes.<key>, tags, event.type, event.at, "
    "event.properties.<key>, or {has_event, within, where, min_count}. null: the rule always matches."
)
ACTIONS_HELP = (
    "A list of actions, each {type, ...}: tag {add, remove}; assign {target: conversation|case, user, team}; "
    "notify {users, team, title, body}; open_case {subject, description, priority, goal, category, owner, team}; "
    "webhook {url}."
)


class TriggerIn(Schema):
    source: str = Field(description="customer_event or domain_event")
    type: str = Field(description="An event type key (purchase.completed) or a domain event name (case.opened)")


class TriggerOut(Schema):
    source: str
    type: str
    label: str = ""

    @staticmethod
    def of(choice: TriggerChoice) -> TriggerOut:
        return TriggerOut(source=choice.source, type=choice.type, label=choice.label)


class RuleIn(Schema):
    name: str
    description: str = ""
    trigger: TriggerIn
    conditions: Any = Field(None, description=CONDITIONS_HELP)
    actions: Any = Field(description=ACTIONS_HELP)
    is_active: bool = True
    stop_processing: bool = Field(False, description="When this rule matches, later rules are not tried")


class RuleUpdate(Schema):
    """Every field optional; conditions: null removes them (the rule always matches)."""

    name: str | None = None
    description: str | None = None
    trigger: TriggerIn | None = None
    conditions: Any = Field(None, description=CONDITIONS_HELP)
    actions: Any = Field(None, description=ACTIONS_HELP)
    is_active: bool | None = None
    stop_processing: bool | None = None


class RuleOrderIn(Schema):
    ids: list[str] = Field(description="Every rule's id once, in the order they should be tried")


class RuleOut(Schema):
    id: str
    name: str
    description: str
    trigger: TriggerOut
    conditions: Any
    actions: list[dict[str, Any]]
    action_summaries: list[str]
    position: int
    is_active: bool
    stop_processing: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    run_count: int
    last_run_at: datetime | None

    @staticmethod
    def of(rule: Rule) -> RuleOut:
        return RuleOut(
            id=rule.public_id,
            name=rule.name,
            description=rule.description,
            trigger=TriggerOut(source=rule.trigger_source, type=rule.trigger_type),
            conditions=rule.conditions,
            actions=rule.actions,
            action_summaries=[action_summary(a) for a in rule.actions],
            position=rule.position,
            is_active=rule.is_active,
            stop_processing=rule.stop_processing,
            created_by=rule.created_by.username if rule.created_by is not None else None,
            created_at=rule.created_at,
            updated_at=rule.updated_at,
            run_count=getattr(rule, "run_count", 0),
            last_run_at=getattr(rule, "last_run_at", None),
        )


class RuleRefOut(Schema):
    id: str
    name: str


class RunOut(Schema):
    id: str
    rule: RuleRefOut
    event_ref: str
    trigger_type: str
    event: dict[str, Any] = Field(description="What the event carried: source, occurred_at, received_at, properties")
    customer: str | None
    customer_name: str
    status: str
    explanation: list[str]
    outcomes: list[dict[str, Any]]
    attempts: list[dict[str, Any]] = Field(
        description="Every call of the run's webhook actions, oldest first: index (the action), attempt (1, 2, …), "
        "at, status (the HTTP status; 0: no answer), error, transient (whether it may be retried), retry_after "
        "(the receiver's Retry-After, seconds), next_attempt_at (when it is sent again; null: not again)"
    )
    next_attempt_at: datetime | None = Field(
        description="While the run is retrying: when its next automatic webhook retry is due"
    )
    error: str
    at: datetime
    finished_at: datetime | None

    @staticmethod
    def of(run: RuleRun) -> RunOut:
        return RunOut(
            id=run.public_id,
            rule=RuleRefOut(id=run.rule.public_id, name=run.rule.name),
            event_ref=run.event_ref,
            trigger_type=run.trigger_type,
            event=dict(run.event_data or {}),
            customer=run.customer.public_id if run.customer is not None else None,
            customer_name=run.customer.display_name if run.customer is not None else "",
            status=run.status,
            explanation=list(run.explanation),
            outcomes=list(run.outcomes),
            attempts=list(run.attempts),
            next_attempt_at=run.lease_until if run.status == RunStatus.RETRYING else None,
            error=run.error,
            at=run.at,
            finished_at=run.finished_at,
        )


class RunPage(Schema):
    items: list[RunOut]
    next_cursor: str | None


class RunFilter(Schema):
    rule: str | None = Field(None, description="A rule id")
    status: str | None = Field(None, description="matched, retrying, skipped, succeeded, partially or failed")
    customer: str | None = Field(None, description="A customer id")
    trigger: str | None = Field(None, description="An event type or domain event name")
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class TrialIn(Schema):
    customer: str = Field(description="The customer's id (cus_…)")
    properties: dict[str, Any] = Field(default_factory=dict, description="The sample event's properties")


class TrialOut(Schema):
    matches: bool
    explanation: list[str]
    actions: list[str] = Field(description="What the rule would do (empty when it does not match)")
