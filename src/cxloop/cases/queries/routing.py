"""Reads of routing: queues with their members, the rules in order, agents' availability and workloads, and the
preview that explains where a piece of work would go. Everyone who may read cases may read these (the case
pickers and the supervisor board need them); changing them is the services' business (cases.configure)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from cxloop.accounts.models import Team, User
from cxloop.cases.models import AgentStatus, Queue, QueueMember, RoutingRule, RuleTarget
from cxloop.cases.services import routing
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.permissions import Perm, Role
from cxloop.customers.models import Customer
from cxloop.interactions.models import Channel


def _queues() -> list[Queue]:
    members = QueueMember.objects.select_related("user").order_by("user__username")
    return list(
        Queue.objects.select_related("team", "last_assigned_user")
        .prefetch_related(Prefetch("memberships", queryset=members))
        .order_by("name", "id")
    )


def list_queues(actor: Actor) -> list[Queue]:
    """Every queue with its team, last assignee and memberships (users) loaded: three queries in all."""
    actor.require(Perm.CASES_VIEW)
    return _queues()


def get_queue(actor: Actor, key: str) -> Queue:
    actor.require(Perm.CASES_VIEW)
    members = QueueMember.objects.select_related("user").order_by("user__username")
    queue = (
        Queue.objects.select_related("team", "last_assigned_user")
        .prefetch_related(Prefetch("memberships", queryset=members))
        .filter(key=key)
        .first()
    )
    if queue is None:
        raise NotFoundError(f"No queue {key!r}.")
    return queue


def member_usernames(queue: Queue) -> list[str]:
    """The members of a queue read by list_queues/get_queue (no query)."""
    return [m.user.username for m in queue.memberships.all()]


def list_rules(actor: Actor) -> list[RoutingRule]:
    """The rules in the order they are tried."""
    actor.require(Perm.CASES_VIEW)
    return list(RoutingRule.objects.select_related("queue").order_by("position", "id"))


def get_rule(actor: Actor, rule_id: int) -> RoutingRule:
    actor.require(Perm.CASES_VIEW)
    rule = RoutingRule.objects.select_related("queue").filter(pk=rule_id).first()
    if rule is None:
        raise NotFoundError(f"No routing rule {rule_id}.")
    return rule


def list_teams(actor: Actor) -> list[Team]:
    """Teams a queue may serve (for the settings forms)."""
    actor.require(Perm.CASES_VIEW)
    return list(Team.objects.order_by("name"))


# --- agents --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentWorkload:
    """One agent's open work against what they can carry, and whether they take new work now."""

    user: User
    open_cases: int
    open_conversations: int
    capacity: int
    status: str
    team: Team | None

    @property
    def load(self) -> int:
        return self.open_cases + self.open_conversations

    @property
    def has_room(self) -> bool:
        return self.status == AgentStatus.AVAILABLE and self.load < self.capacity


WORKING_ROLES = (Role.AGENT.value, Role.SUPERVISOR.value, Role.ADMIN.value)


def _workloads(users: list[User]) -> list[AgentWorkload]:
    loads = routing.loads_of(u.pk for u in users)
    rows = []
    for user in users:
        availability = getattr(user, "availability", None)
        cases, threads = loads[user.pk]
        rows.append(
            AgentWorkload(
                user=user,
                open_cases=cases,
                open_conversations=threads,
                capacity=availability.capacity if availability is not None else routing.DEFAULT_CAPACITY,
                status=availability.status if availability is not None else AgentStatus.AVAILABLE.value,
                team=user.team,
            )
        )
    return rows


def workloads(actor: Actor, *, team_id: int | None = None) -> list[AgentWorkload]:
    """Per active user who works cases (agents, supervisors, admins), by username: active cases owned, open or
    waiting conversations assigned, capacity, availability and team. Three queries whatever the number of agents."""
    actor.require(Perm.CASES_VIEW)
    users = User.objects.filter(is_active=True, role__in=WORKING_ROLES).select_related("availability", "team")
    if team_id is not None:
        users = users.filter(team_id=team_id)
    return _workloads(list(users.order_by("username")))


def find_agent(actor: Actor, username: str) -> User:
    """An active user who works cases, by username (NotFoundError otherwise)."""
    actor.require(Perm.CASES_VIEW)
    user = (
        User.objects.filter(username=username, is_active=True, role__in=WORKING_ROLES)
        .select_related("availability", "team")
        .first()
    )
    if user is None:
        raise NotFoundError(f"No agent {username!r}.")
    return user


def find_staff(actor: Actor, username: str) -> User:
    """Any active staff user by username (whether they may take work is the availability service's question)."""
    actor.require(Perm.CASES_VIEW)
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFoundError(f"No user {username!r}.")
    return user


def workload_of(actor: Actor, username: str) -> AgentWorkload:
    return _workloads([find_agent(actor, username)])[0]


# --- the preview ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteExplanation:
    """Where the work would go now and why: every rule tried in order up to the first match (with the reason each
    failed), the queue (the default one when nothing matched), and who would take it (nobody is changed)."""

    facts: routing.RouteFacts
    checks: list[routing.RuleCheck]
    rule: RoutingRule | None
    queue: Queue | None
    assignee: User | None

    @property
    def summary(self) -> str:
        if self.queue is None:
            return "No rule matched and there is no default queue: the work would wait unrouted."
        via = f"rule {self.rule.name!r}" if self.rule is not None else "the default queue (no rule matched)"
        who = f", assigned to {self.assignee.username}" if self.assignee is not None else ", waiting in the queue"
        return f"To {self.queue.name} by {via}{who}."


def _customer(customer_id: str) -> Customer | None:
    if not customer_id:
        return None
    customer = Customer.objects.filter(public_id=customer_id).first()
    if customer is None:
        raise ValidationError("No such customer.", fields={"customer_id": "unknown customer"})
    return customer


def _check_choice(value: str, field: str, allowed: list[str]) -> str:
    if value and value not in allowed:
        raise ValidationError(f"Unknown {field}.", fields={field: f"must be one of {', '.join(allowed)}"})
    return value


def explain_route(
    actor: Actor,
    *,
    channel: str = "",
    text: str = "",
    customer_id: str = "",
    goal: str = "",
    category: str = "",
    priority: str = "",
    target: str = RuleTarget.CASES.value,
    language: str = "",
    sentiment: float | None = None,
    emotion: str = "",
) -> RouteExplanation:
    """Where a case (or, with target "conversations", a new conversation) with these facts would go now. The
    customer (public id) gives the language and tier; `language` overrides the customer's. Nothing is written:
    round robin is not advanced."""
    actor.require(Perm.CASES_VIEW)
    _check_choice(channel, "channel", list(Channel.values))
    _check_choice(target, "target", [RuleTarget.CASES.value, RuleTarget.CONVERSATIONS.value])
    _check_choice(priority, "priority", ["low", "normal", "high", "urgent"])
    if sentiment is not None and not -1 <= sentiment <= 1:
        raise ValidationError("The sentiment is out of range.", fields={"sentiment": "a number from -1 to 1"})
    customer = _customer(customer_id)
    is_case = target == RuleTarget.CASES.value
    facts = routing.RouteFacts(
        target=target,
        channel=channel,
        language=routing.language_of(language) or routing.language_of(customer.locale if customer else ""),
        goal=goal if is_case else "",
        category=category if is_case else "",
        priority=priority if is_case else "",
        customer_tier=routing.customer_tier(customer),
        sentiment=sentiment,
        emotion=emotion.strip(),
        text=text,
    )
    checks: list[routing.RuleCheck] = []
    matched: RoutingRule | None = None
    for rule in routing.active_rules(target):
        check = routing.check_rule(rule, facts)
        checks.append(check)
        if check.matched:
            matched = rule
            break
    queue = matched.queue if matched is not None else routing.default_queue()
    assignee = routing.pick_assignee(queue, dry_run=True) if queue is not None else None
    return RouteExplanation(facts=facts, checks=checks, rule=matched, queue=queue, assignee=assignee)
