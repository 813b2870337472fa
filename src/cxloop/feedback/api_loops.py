"""/api/v1 routes of the closed loop: follow-ups (list, one, "customer contacted", close with an outcome), their
measures, and the loop rules (list, add, change, reorder, delete).

Reading needs feedback.view; contacting and closing need cases.work too (it is work on a follow-up case);
changing rules needs feedback.manage. The queries and services check all of it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from cxloop.accounts.models import Team, User
from cxloop.api.auth import actor_of
from cxloop.cases.models import Category, Goal
from cxloop.core import clock
from cxloop.core.errors import ValidationError
from cxloop.feedback.loop_schemas import (
    CloseIn,
    ContactIn,
    LoopFilter,
    LoopMetricsOut,
    LoopOut,
    LoopPage,
    LoopRuleIn,
    LoopRuleOrderIn,
    LoopRuleOut,
    LoopRuleUpdate,
    MetricsFilter,
)
from cxloop.feedback.queries import loops as loop_queries
from cxloop.feedback.services import loop_rules, loops
from cxloop.feedback.services.loop_rules import RuleInput

router = Router(tags=["feedback loops"])
METRICS_DEFAULT_DAYS = 30


# --- follow-ups -----------------------------------------------------------------------------------------------------


@router.get("/feedback/loops", response=LoopPage, summary="Follow-ups of unhappy answers, with filters")
def list_loops(request: HttpRequest, filters: Query[LoopFilter]) -> LoopPage:
    page = loop_queries.list_loops(
        actor_of(request),
        loop_queries.LoopFilters(
            state=filters.state, owner=filters.owner, rule=filters.rule, age=filters.age, customer=filters.customer
        ),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    now = clock.now()
    return LoopPage(items=[LoopOut.of(loop, now) for loop in page.items], next_cursor=page.next_cursor)


@router.get(
    "/feedback/loops/metrics",
    response=LoopMetricsOut,
    summary="Closed within X hours, median hours to contact and to close, open follow-ups by owner and age",
)
def loop_metrics(request: HttpRequest, filters: Query[MetricsFilter]) -> LoopMetricsOut:
    # In UTC first: PostgreSQL refuses offsets past ±15:59 that ISO 8601 allows (a 500 the fuzzer found).
    until = clock.storable_utc(filters.until, "until") or clock.now()
    since = clock.storable_utc(filters.since, "since")
    if since is None:
        try:
            since = until - timedelta(days=METRICS_DEFAULT_DAYS)
        except OverflowError:
            raise ValidationError("That period starts before year 1.", fields={"until": clock.OUT_OF_RANGE}) from None
    metrics = loop_queries.loop_metrics(actor_of(request), since=since, until=until, within_hours=filters.within_hours)
    return LoopMetricsOut.of(metrics)


@router.get("/feedback/loops/{loop_id}", response=LoopOut, summary="One follow-up with the answer it follows up")
def get_loop(request: HttpRequest, loop_id: str) -> LoopOut:
    return LoopOut.of(loop_queries.get_loop(actor_of(request), loop_id), clock.now())


@router.post("/feedback/loops/{loop_id}/contact", response=LoopOut, summary="Record that the customer was contacted")
def contact(request: HttpRequest, loop_id: str, payload: ContactIn) -> LoopOut:
    actor = actor_of(request)
    now = clock.now()
    if payload.at is not None and payload.at > now:
        raise ValidationError("That is in the future.", fields={"at": "must not be in the future"})
    loops.mark_contacted(actor, loop_queries.get_loop(actor, loop_id), at=payload.at)
    return LoopOut.of(loop_queries.get_loop(actor, loop_id), now)


@router.post("/feedback/loops/{loop_id}/close", response=LoopOut, summary="Close the loop with its outcome")
def close(request: HttpRequest, loop_id: str, payload: CloseIn) -> LoopOut:
    actor = actor_of(request)
    loops.close_loop(actor, loop_queries.get_loop(actor, loop_id), outcome=payload.outcome, note=payload.note)
    return LoopOut.of(loop_queries.get_loop(actor, loop_id), clock.now())


# --- rules ----------------------------------------------------------------------------------------------------------


def _category(key: str | None) -> Category | None:
    found = Category.objects.filter(key=key).first() if key else None
    if key and found is None:
        raise ValidationError("No such category.", fields={"category": "unknown category"})
    return found


def _goal(key: str | None) -> Goal | None:
    found = Goal.objects.filter(key=key).first() if key else None
    if key and found is None:
        raise ValidationError("No such goal.", fields={"goal": "unknown goal"})
    return found


def _owner(username: str | None) -> User | None:
    found = User.objects.filter(username=username).first() if username else None
    if username and found is None:
        raise ValidationError("No such user.", fields={"owner": "unknown username"})
    return found


def _team(team_id: int | None) -> Team | None:
    found = Team.objects.filter(pk=team_id).first() if team_id is not None else None
    if team_id is not None and found is None:
        raise ValidationError("No such team.", fields={"team": "unknown team"})
    return found


@router.get("/feedback/loop-rules", response=list[LoopRuleOut], summary="Loop rules, in the order they are tried")
def list_rules(request: HttpRequest) -> list[LoopRuleOut]:
    return [LoopRuleOut.of(rule) for rule in loop_queries.list_rules(actor_of(request))]


@router.post("/feedback/loop-rules", response={201: LoopRuleOut}, summary="Add a loop rule (tried after the others)")
def create_rule(request: HttpRequest, payload: LoopRuleIn) -> Status[Any]:
    rule = loop_rules.create_rule(
        actor_of(request),
        RuleInput(
            name=payload.name,
            conditions=payload.conditions,
            is_active=payload.is_active,
            category=_category(payload.category),
            goal=_goal(payload.goal),
            priority=payload.priority,
            assign_to_agent=payload.assign_to_agent,
            owner=_owner(payload.owner),
            team=_team(payload.team),
        ),
    )
    return Status(201, LoopRuleOut.of(rule))


@router.put("/feedback/loop-rules/order", response=list[LoopRuleOut], summary="Reorder the rules (every id, once)")
def reorder_rules(request: HttpRequest, payload: LoopRuleOrderIn) -> list[LoopRuleOut]:
    actor = actor_of(request)
    loop_rules.reorder_rules(actor, payload.ids)
    return [LoopRuleOut.of(rule) for rule in loop_queries.list_rules(actor)]


@router.get("/feedback/loop-rules/{rule_id}", response=LoopRuleOut, summary="One loop rule")
def get_rule(request: HttpRequest, rule_id: str) -> LoopRuleOut:
    return LoopRuleOut.of(loop_queries.get_rule(actor_of(request), rule_id))


@router.patch("/feedback/loop-rules/{rule_id}", response=LoopRuleOut, summary="Change a loop rule, or switch it off")
def update_rule(request: HttpRequest, rule_id: str, payload: LoopRuleUpdate) -> LoopRuleOut:
    actor = actor_of(request)
    rule = loop_queries.get_rule(actor, rule_id)
    sent = payload.model_fields_set
    updated = loop_rules.update_rule(
        actor,
        rule,
        RuleInput(
            name=payload.name,
            conditions=payload.conditions,
            is_active=payload.is_active,
            category=_category(payload.category),
            goal=_goal(payload.goal),
            priority=payload.priority,
            assign_to_agent=payload.assign_to_agent,
            owner=_owner(payload.owner),
            team=_team(payload.team),
            clear_category="category" in sent and payload.category is None,
            clear_goal="goal" in sent and payload.goal is None,
            clear_owner="owner" in sent and payload.owner is None,
            clear_team="team" in sent and payload.team is None,
        ),
    )
    return LoopRuleOut.of(updated)


@router.delete("/feedback/loop-rules/{rule_id}", response={204: None}, summary="Delete a loop rule")
def delete_rule(request: HttpRequest, rule_id: str) -> Status[None]:
    actor = actor_of(request)
    loop_rules.delete_rule(actor, loop_queries.get_rule(actor, rule_id))
    return Status(204, None)
