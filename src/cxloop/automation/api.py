"""/api/v1/automation: rules (list, add, one, change, switch on/off, reorder, delete), the run log and the
triggers a rule may listen to. Reading needs journeys.view, changing journeys.manage (the services check)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from cxloop.api.auth import actor_of
from cxloop.automation import queries, services
from cxloop.automation.schemas import (
    RuleIn,
    RuleOrderIn,
    RuleOut,
    RuleUpdate,
    RunFilter,
    RunOut,
    RunPage,
    TrialIn,
    TrialOut,
    TriggerOut,
)
from cxloop.automation.services import RuleChanges, RuleInput

router = Router(tags=["automation"])


@router.get("/automation/triggers", response=list[TriggerOut], summary="What a rule may listen to")
def list_triggers(request: HttpRequest) -> list[TriggerOut]:
    return [TriggerOut.of(choice) for choice in queries.trigger_choices(actor_of(request))]


@router.get("/automation/rules", response=list[RuleOut], summary="Automation rules, in the order they are tried")
def list_rules(request: HttpRequest) -> list[RuleOut]:
    return [RuleOut.of(rule) for rule in queries.list_rules(actor_of(request))]


@router.post("/automation/rules", response={201: RuleOut}, summary="Add a rule (tried after the others)")
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[Any]:
    actor = actor_of(request)
    rule = services.create_rule(
        actor,
        RuleInput(
            name=payload.name,
            description=payload.description,
            trigger_source=payload.trigger.source,
            trigger_type=payload.trigger.type,
            conditions=payload.conditions,
            actions=payload.actions,
            is_active=payload.is_active,
            stop_processing=payload.stop_processing,
        ),
    )
    return Status(201, RuleOut.of(queries.get_rule(actor, rule.public_id)))


@router.put("/automation/rules/order", response=list[RuleOut], summary="Reorder the rules (every id, once)")
def reorder_rules(request: HttpRequest, payload: RuleOrderIn) -> list[RuleOut]:
    actor = actor_of(request)
    services.reorder_rules(actor, payload.ids)
    return [RuleOut.of(rule) for rule in queries.list_rules(actor)]


@router.get("/automation/rules/{rule_id}", response=RuleOut, summary="One rule")
def get_rule(request: HttpRequest, rule_id: str) -> RuleOut:
    return RuleOut.of(queries.get_rule(actor_of(request), rule_id))


@router.patch("/automation/rules/{rule_id}", response=RuleOut, summary="Change a rule")
def update_rule(request: HttpRequest, rule_id: str, payload: RuleUpdate) -> RuleOut:
    actor = actor_of(request)
    sent = payload.model_fields_set
    services.update_rule(
        actor,
        queries.get_rule(actor, rule_id),
        RuleChanges(
            name=payload.name,
            description=payload.description,
            trigger_source=payload.trigger.source if payload.trigger is not None else None,
            trigger_type=payload.trigger.type if payload.trigger is not None else None,
            conditions=payload.conditions,
            clear_conditions="conditions" in sent and payload.conditions is None,
            actions=payload.actions,
            is_active=payload.is_active,
            stop_processing=payload.stop_processing,
        ),
    )
    return RuleOut.of(queries.get_rule(actor, rule_id))


@router.post(
    "/automation/rules/{rule_id}/duplicate",
    response={201: RuleOut},
    summary="Copy a rule (named Copy of …, switched off, tried after the others)",
)
def duplicate_rule(request: HttpRequest, rule_id: str) -> Status[Any]:
    actor = actor_of(request)
    copy = services.duplicate_rule(actor, queries.get_rule(actor, rule_id))
    return Status(201, RuleOut.of(queries.get_rule(actor, copy.public_id)))


@router.post("/automation/rules/{rule_id}/activate", response=RuleOut, summary="Switch a rule on")
def activate_rule(request: HttpRequest, rule_id: str) -> RuleOut:
    actor = actor_of(request)
    services.set_active(actor, queries.get_rule(actor, rule_id), True)
    return RuleOut.of(queries.get_rule(actor, rule_id))


@router.post("/automation/rules/{rule_id}/deactivate", response=RuleOut, summary="Switch a rule off")
def deactivate_rule(request: HttpRequest, rule_id: str) -> RuleOut:
    actor = actor_of(request)
    services.set_active(actor, queries.get_rule(actor, rule_id), False)
    return RuleOut.of(queries.get_rule(actor, rule_id))


@router.post(
    "/automation/rules/{rule_id}/try",
    response=TrialOut,
    summary="Would the rule match this customer and sample event? (nothing is written, no action runs)",
)
def try_rule(request: HttpRequest, rule_id: str, payload: TrialIn) -> TrialOut:
    actor = actor_of(request)
    trial = queries.try_rule(actor, queries.get_rule(actor, rule_id), payload.customer, payload.properties)
    return TrialOut(matches=trial.matches, explanation=trial.explanation, actions=trial.actions)


@router.delete("/automation/rules/{rule_id}", response={204: None}, summary="Delete a rule and its run log")
def delete_rule(request: HttpRequest, rule_id: str) -> Status[None]:
    actor = actor_of(request)
    services.delete_rule(actor, queries.get_rule(actor, rule_id))
    return Status(204, None)


@router.get("/automation/runs", response=RunPage, summary="The run log, newest first, with filters")
def list_runs(request: HttpRequest, filters: Query[RunFilter]) -> RunPage:
    page = queries.list_runs(
        actor_of(request),
        queries.RunFilters(
            rule=filters.rule,
            status=filters.status,
            customer=filters.customer,
            trigger=filters.trigger,
            since=filters.since,
            until=filters.until,
        ),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return RunPage(items=[RunOut.of(run) for run in page.items], next_cursor=page.next_cursor)


@router.get("/automation/runs/{run_id}", response=RunOut, summary="One run: why it matched and each action's outcome")
def get_run(request: HttpRequest, run_id: str) -> RunOut:
    return RunOut.of(queries.get_run(actor_of(request), run_id))


@router.post(
    "/automation/runs/{run_id}/retry",
    response=RunOut,
    summary="Run the failed actions of a run again (the worker does it; a webhook keeps its delivery id)",
)
def retry_run(request: HttpRequest, run_id: str) -> RunOut:
    actor = actor_of(request)
    services.retry_run(actor, queries.get_run(actor, run_id))
    return RunOut.of(queries.get_run(actor, run_id))
