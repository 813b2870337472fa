"""/api/v1 routes of routing: queues and their members, routing rules and their order, the preview ("where would
this go, and why"), and agents with their workload and availability.

Reading needs cases.view; changing queues and rules needs cases.configure; an agent sets their own availability
(cases.work), a supervisor anyone's (cases.assign). The services check all of it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from cxloop.accounts.models import Team, User
from cxloop.api.auth import actor_of
from cxloop.cases.models import AgentStatus, Queue
from cxloop.cases.queries import routing as routing_queries
from cxloop.cases.routing_schemas import (
    AgentOut,
    AvailabilityIn,
    MemberIn,
    MembersIn,
    PreviewIn,
    PreviewOut,
    QueueIn,
    QueueOut,
    QueueUpdate,
    RuleIn,
    RuleOrderIn,
    RuleOut,
    RuleUpdate,
)
from cxloop.cases.services import routing
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError

router = Router(tags=["routing"])


# --- references named in bodies: an unknown one is a 422 on that field ---------------------------------------------


def _team(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ValidationError("No such team.", fields={"team": "unknown team"})
    return team


def _users(usernames: list[str], field: str = "members") -> list[User]:
    wanted = list(dict.fromkeys(usernames))
    users = {u.username: u for u in User.objects.filter(username__in=wanted)}
    unknown = [name for name in wanted if name not in users]
    if unknown:
        raise ValidationError("No such user.", fields={field: f"unknown username: {', '.join(unknown[:5])}"})
    return [users[name] for name in wanted]


def _queue_named(actor: Actor, key: str, field: str = "queue") -> Queue:
    try:
        return routing_queries.get_queue(actor, key)
    except NotFoundError:
        raise ValidationError("No such queue.", fields={field: "unknown queue"}) from None


def _fresh_queue(actor: Actor, key: str) -> QueueOut:
    return QueueOut.of(routing_queries.get_queue(actor, key))


# --- queues -------------------------------------------------------------------------------------------------------


@router.get("/queues", response=list[QueueOut], summary="Routing queues with their members")
def list_queues(request: HttpRequest) -> list[QueueOut]:
    return [QueueOut.of(q) for q in routing_queries.list_queues(actor_of(request))]


@router.post("/queues", response={201: QueueOut}, summary="Add a queue (with its members)")
def create_queue(request: HttpRequest, payload: QueueIn) -> Status[Any]:
    actor = actor_of(request)
    queue = routing.create_queue(
        actor,
        key=payload.key,
        name=payload.name,
        team=_team(payload.team),
        assignment_mode=payload.assignment_mode,
        is_default=payload.is_default,
        members=_users(payload.members),
    )
    return Status(201, _fresh_queue(actor, queue.key))


@router.get("/queues/{key}", response=QueueOut, summary="One queue")
def get_queue(request: HttpRequest, key: str) -> QueueOut:
    return QueueOut.of(routing_queries.get_queue(actor_of(request), key))


@router.patch("/queues/{key}", response=QueueOut, summary="Rename, change team or mode, make it the default")
def update_queue(request: HttpRequest, key: str, payload: QueueUpdate) -> QueueOut:
    actor = actor_of(request)
    queue = routing_queries.get_queue(actor, key)
    routing.update_queue(
        actor,
        queue,
        name=payload.name,
        team=_team(payload.team),
        clear_team=payload.clear_team,
        assignment_mode=payload.assignment_mode,
        is_default=payload.is_default,
    )
    return _fresh_queue(actor, key)


@router.delete("/queues/{key}", response={204: None}, summary="Delete a queue no rule uses")
def delete_queue(request: HttpRequest, key: str) -> Status[None]:
    actor = actor_of(request)
    routing.delete_queue(actor, routing_queries.get_queue(actor, key))
    return Status(204, None)


@router.put("/queues/{key}/members", response=QueueOut, summary="Set the queue's members (all of them)")
def set_members(request: HttpRequest, key: str, payload: MembersIn) -> QueueOut:
    actor = actor_of(request)
    routing.set_queue_members(actor, routing_queries.get_queue(actor, key), _users(payload.usernames, "usernames"))
    return _fresh_queue(actor, key)


@router.post("/queues/{key}/members", response=QueueOut, summary="Add a member")
def add_member(request: HttpRequest, key: str, payload: MemberIn) -> QueueOut:
    actor = actor_of(request)
    queue = routing_queries.get_queue(actor, key)
    routing.add_queue_member(actor, queue, _users([payload.username], "username")[0])
    return _fresh_queue(actor, key)


@router.delete("/queues/{key}/members/{username}", response=QueueOut, summary="Remove a member")
def remove_member(request: HttpRequest, key: str, username: str) -> QueueOut:
    actor = actor_of(request)
    queue = routing_queries.get_queue(actor, key)
    if username not in routing_queries.member_usernames(queue):
        raise NotFoundError(f"{username!r} is not a member of {key!r}.")
    routing.remove_queue_member(actor, queue, _users([username], "username")[0])
    return _fresh_queue(actor, key)


# --- rules --------------------------------------------------------------------------------------------------------


@router.get("/routing/rules", response=list[RuleOut], summary="Routing rules, in the order they are tried")
def list_rules(request: HttpRequest) -> list[RuleOut]:
    return [RuleOut.of(r) for r in routing_queries.list_rules(actor_of(request))]


@router.post("/routing/rules", response={201: RuleOut}, summary="Add a rule (tried after the existing ones)")
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[Any]:
    actor = actor_of(request)
    rule = routing.create_rule(
        actor,
        name=payload.name,
        queue=_queue_named(actor, payload.queue),
        conditions=payload.conditions,
        applies_to=payload.applies_to,
        is_active=payload.is_active,
    )
    return Status(201, RuleOut.of(rule))


@router.put("/routing/rules/order", response=list[RuleOut], summary="Reorder the rules (every id, once)")
def reorder_rules(request: HttpRequest, payload: RuleOrderIn) -> list[RuleOut]:
    actor = actor_of(request)
    routing.reorder_rules(actor, payload.ids)
    return [RuleOut.of(r) for r in routing_queries.list_rules(actor)]


@router.get("/routing/rules/{rule_id}", response=RuleOut, summary="One rule")
def get_rule(request: HttpRequest, rule_id: int) -> RuleOut:
    return RuleOut.of(routing_queries.get_rule(actor_of(request), rule_id))


@router.patch("/routing/rules/{rule_id}", response=RuleOut, summary="Change a rule, or switch it off")
def update_rule(request: HttpRequest, rule_id: int, payload: RuleUpdate) -> RuleOut:
    actor = actor_of(request)
    rule = routing_queries.get_rule(actor, rule_id)
    queue = _queue_named(actor, payload.queue) if payload.queue is not None else None
    routing.update_rule(
        actor,
        rule,
        name=payload.name,
        queue=queue,
        conditions=payload.conditions,
        applies_to=payload.applies_to,
        is_active=payload.is_active,
    )
    return RuleOut.of(routing_queries.get_rule(actor, rule_id))


@router.delete("/routing/rules/{rule_id}", response={204: None}, summary="Delete a rule")
def delete_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    actor = actor_of(request)
    routing.delete_rule(actor, routing_queries.get_rule(actor, rule_id))
    return Status(204, None)


@router.post("/routing/preview", response=PreviewOut, summary="Where would this go now, and why (changes nothing)")
def preview(request: HttpRequest, payload: PreviewIn) -> PreviewOut:
    explanation = routing_queries.explain_route(
        actor_of(request),
        target=payload.target,
        channel=payload.channel,
        text=payload.text,
        customer_id=payload.customer_id,
        language=payload.language,
        goal=payload.goal,
        category=payload.category,
        priority=payload.priority,
        sentiment=payload.sentiment,
        emotion=payload.emotion,
    )
    return PreviewOut.of(explanation)


# --- agents -------------------------------------------------------------------------------------------------------


@router.get("/agents", response=list[AgentOut], summary="Agents: open work, capacity and availability")
def list_agents(request: HttpRequest, team: int | None = None) -> list[AgentOut]:
    return [AgentOut.of(row) for row in routing_queries.workloads(actor_of(request), team_id=team)]


@router.get("/agents/{username}/availability", response=AgentOut, summary="One agent's availability and load")
def get_availability(request: HttpRequest, username: str) -> AgentOut:
    return AgentOut.of(routing_queries.workload_of(actor_of(request), username))


@router.put(
    "/agents/{username}/availability",
    response=AgentOut,
    summary=f"Set availability ({', '.join(AgentStatus.values)}) and capacity: one's own, or anyone's as supervisor",
)
def set_availability(request: HttpRequest, username: str, payload: AvailabilityIn) -> AgentOut:
    actor = actor_of(request)
    routing.set_availability(
        actor, routing_queries.find_staff(actor, username), status=payload.status, capacity=payload.capacity
    )
    return AgentOut.of(routing_queries.workload_of(actor, username))
