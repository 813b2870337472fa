"""Reads of automation rules and their run log, taking the acting user (journeys.view)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, QuerySet

from cxloop.accounts.models import Team, User
from cxloop.automation import conditions as rule_conditions
from cxloop.automation.definitions import DOMAIN_TRIGGERS, action_summary
from cxloop.automation.models import Rule, RuleRun, RunStatus, TriggerSource
from cxloop.cases.models import Category, Goal
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.events import queries as event_queries
from cxloop.journeys.conditions import PROFILE_FIELDS

RUN_ORDER = ("-at", "-id")


def list_rules(actor: Actor) -> list[Rule]:
    """Every rule in the order they are tried, each with `run_count` and `last_run_at`."""
    actor.require(Perm.JOURNEYS_VIEW)
    rules: QuerySet[Rule] = Rule.objects.annotate(run_count=Count("runs"), last_run_at=Max("runs__at")).order_by(
        "position", "id"
    )
    return list(rules)


def get_rule(actor: Actor, rule_id: str) -> Rule:
    actor.require(Perm.JOURNEYS_VIEW)
    found = (
        Rule.objects.select_related("created_by")
        .annotate(run_count=Count("runs"), last_run_at=Max("runs__at"))
        .filter(public_id=rule_id)
        .first()
    )
    if found is None:
        raise NotFoundError(f"No automation rule {rule_id!r}.")
    return found


@dataclass(frozen=True)
class RunFilters:
    rule: str | None = None
    status: str | None = None
    customer: str | None = None
    trigger: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _check(filters: RunFilters) -> None:
    if filters.status and filters.status not in RunStatus.values:
        raise ValidationError("Unknown status.", fields={"status": f"one of {', '.join(RunStatus.values)}"})
    if filters.since and filters.until and filters.since > filters.until:
        raise ValidationError("The period is empty.", fields={"since": "must not be after until"})


def runs(actor: Actor, filters: RunFilters) -> QuerySet[RuleRun]:
    actor.require(Perm.JOURNEYS_VIEW)
    # In UTC first: PostgreSQL refuses offsets past ±15:59 that ISO 8601 allows.
    filters = replace(
        filters, since=clock.storable_utc(filters.since, "since"), until=clock.storable_utc(filters.until, "until")
    )
    _check(filters)
    qs = RuleRun.objects.select_related("rule", "customer")
    if filters.rule:
        qs = qs.filter(rule__public_id=filters.rule)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.customer:
        qs = qs.filter(customer__public_id=filters.customer)
    if filters.trigger:
        qs = qs.filter(trigger_type=filters.trigger)
    if filters.since:
        qs = qs.filter(at__gte=filters.since)
    if filters.until:
        qs = qs.filter(at__lt=filters.until)
    return qs


def list_runs(actor: Actor, filters: RunFilters, *, cursor: str | None = None, limit: int = 50) -> Page[RuleRun]:
    """The run log, newest first, with a cursor for the next page."""
    return paginate(runs(actor, filters), RUN_ORDER, cursor, limit)


def get_run(actor: Actor, run_id: str) -> RuleRun:
    actor.require(Perm.JOURNEYS_VIEW)
    found = RuleRun.objects.select_related("rule", "customer").filter(public_id=run_id).first()
    if found is None:
        raise NotFoundError(f"No rule run {run_id!r}.")
    return found


@dataclass(frozen=True)
class TriggerChoice:
    source: str
    type: str
    label: str


def trigger_choices(actor: Actor) -> list[TriggerChoice]:
    """What a rule may listen to: the active registered customer event types, then the supported domain events."""
    actor.require(Perm.JOURNEYS_VIEW)
    reader = Actor.system("automation")
    customer_events = [
        TriggerChoice(TriggerSource.CUSTOMER_EVENT, t.key, t.name)
        for t in event_queries.event_types(reader)
        if t.is_active
    ]
    domain = [TriggerChoice(TriggerSource.DOMAIN_EVENT, t.name, t.label) for t in DOMAIN_TRIGGERS.values()]
    return [*customer_events, *domain]


@dataclass(frozen=True)
class Trial:
    """What a rule would do for a customer and a sample event: nothing is written and no action runs."""

    matches: bool
    explanation: list[str]
    actions: list[str]


def try_rule(actor: Actor, rule: Rule, customer_id: str, properties: dict[str, Any] | None = None) -> Trial:
    """Evaluate `rule`'s conditions for the customer and an event of its trigger carrying `properties` (now)."""
    actor.require(Perm.JOURNEYS_VIEW)
    if properties is not None and not isinstance(properties, dict):
        raise ValidationError("The sample event's properties must be an object.", fields={"properties": "an object"})
    customer = customer_queries.get_customer(actor, customer_id)
    facts = rule_conditions.facts_of(customer, rule.trigger_type, clock.now(), properties or {}, "trial")
    verdict = rule_conditions.evaluate(rule_conditions.parse(rule.conditions), facts)
    summaries = [action_summary(a) for a in rule.actions] if verdict.holds else []
    return Trial(verdict.holds, verdict.reasons, summaries)


@dataclass(frozen=True)
class ConditionFields:
    """What the editor's condition builder offers: the profile fields and the admin-defined attributes
    (key, label). Names only, no customer's data, so any reader of rules may see them."""

    profile: tuple[str, ...]
    attributes: list[tuple[str, str]]


def condition_fields(actor: Actor) -> ConditionFields:
    actor.require(Perm.JOURNEYS_VIEW)
    reader = Actor.system("automation")
    attributes = [(d.key, d.label) for d in customer_queries.attribute_definitions(reader).order_by("key")]
    return ConditionFields(profile=PROFILE_FIELDS, attributes=attributes)


@dataclass(frozen=True)
class ActionSuggestions:
    """What the editor's action rows suggest as one types: (value the action takes, label shown). Active staff
    by username, teams by name, active goals and categories by key, as the actions look them up."""

    users: list[tuple[str, str]]
    teams: list[tuple[str, str]]
    goals: list[tuple[str, str]]
    categories: list[tuple[str, str]]


def action_suggestions(actor: Actor) -> ActionSuggestions:
    """Names only, the same every rule editor sees (journeys.view); the server still checks each on save."""
    actor.require(Perm.JOURNEYS_VIEW)
    users = [
        (username, " ".join(f"{first} {last}".split()) or username)
        for username, first, last in User.objects.filter(is_active=True)
        .order_by("username")
        .values_list("username", "first_name", "last_name")
    ]
    teams = [(name, name) for name in Team.objects.order_by("name").values_list("name", flat=True)]
    goals = list(Goal.objects.filter(is_active=True).order_by("position", "name").values_list("key", "name"))
    categories = list(Category.objects.filter(is_active=True).order_by("name").values_list("key", "name"))
    return ActionSuggestions(users=users, teams=teams, goals=goals, categories=categories)
