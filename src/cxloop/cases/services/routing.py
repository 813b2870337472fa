"""Routing: which queue new work lands in, and which agent of that queue takes it.

Rules are tried in `position` order and the first active rule whose conditions all hold wins; with no match the
work goes to the default queue. Inside a queue the assignment mode picks a person among its members who are
available, active and under their capacity (load = active cases owned + open or waiting conversations assigned):
round robin continues after the member who got the last piece of work, load balanced takes the least loaded.

Cases are routed by the case service (it calls `decide_case_route` inside its own transaction and applies the
decision); new inbound conversations are routed here, by `route_conversation`, from the "message.received" event.
The pure matching (`RouteFacts`, `check_rule`) is shared with the preview query so the preview never disagrees
with what routing does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef

from cxloop.accounts.models import Team, User
from cxloop.cases.events import WorkRouted
from cxloop.cases.models import (
    ACTIVE_STATUSES,
    AgentAvailability,
    AgentStatus,
    AssignmentMode,
    Case,
    Category,
    ConversationRoute,
    Goal,
    Priority,
    Queue,
    QueueMember,
    RoutingRule,
    RuleTarget,
)
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, ValidationError
from cxloop.core.permissions import Perm, permissions_for
from cxloop.events.bus import publish
from cxloop.interactions import conversations
from cxloop.interactions.models import Channel, Direction, Interaction, Thread, ThreadStatus
from cxloop.privacy.services import record_audit
from cxloop.textanalytics import services as text_services

DEFAULT_CAPACITY = 20
CAPACITY_MAX = 500
OPEN_THREAD_STATUSES = (ThreadStatus.OPEN.value, ThreadStatus.WAITING.value)
SYSTEM = "routing"

_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")
NAME_MAX = 100
LIST_MAX = 100
VALUE_MAX = 100

# Condition keys and what each holds. Lists mean "any of"; all keys of a rule must hold.
LIST_KEYS = ("channels", "languages", "goals", "categories", "keywords", "customer_tiers", "priorities", "emotions")
CONDITION_KEYS = (*LIST_KEYS, "sentiment_below")
# Conversations have no goal, category or priority before a case is opened for them.
CASE_ONLY_KEYS = ("goals", "categories", "priorities")


@dataclass(frozen=True)
class RouteDecision:
    """Where work goes: the queue, the rule that sent it there (None: the default queue), who takes it (None: nobody
    yet, it waits in the queue) and the team (the queue's)."""

    queue: Queue
    rule: RoutingRule | None
    assignee: User | None
    team: Team | None = None


@dataclass(frozen=True)
class RouteFacts:
    """What the rules look at, gathered once per piece of work. Empty strings and None mean "not known": a
    condition on something unknown does not hold."""

    target: str  # cases | conversations
    channel: str = ""
    language: str = ""
    goal: str = ""
    category: str = ""
    priority: str = ""
    customer_tier: str = ""
    sentiment: float | None = None
    emotion: str = ""
    text: str = ""


@dataclass(frozen=True)
class RuleCheck:
    """One rule tried against the facts: whether it matched, and why (or why not), for the preview."""

    rule: RoutingRule
    matched: bool
    reason: str


# --- facts ---------------------------------------------------------------------------------------------------------


def language_of(value: str) -> str:
    """The language part of a locale or language tag: "en-GB", "en_gb" and "EN" all give "en"."""
    return re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower() if value else ""


def customer_tier(customer: Any) -> str:
    """The customer's tier: the value of the configured attribute, as text ("" when unset)."""
    if customer is None:
        return ""
    attribute = getattr(settings, "CXLOOP_CUSTOMER_TIER_ATTRIBUTE", "tier")
    value = (customer.attributes or {}).get(attribute)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class _TextFacts:
    sentiment: float | None = None
    emotion: str = ""
    language: str = ""


def _text_facts(message: Interaction | None) -> _TextFacts:
    """The message's sentiment, emotion and detected language: as stored by text analytics, or, for a message the
    worker has not scored yet (the first message of a conversation usually), analysed now, so that a rule on
    emotion or sentiment holds for the message that starts the work."""
    if message is None:
        return _TextFacts()
    if message.text_analysed_at is not None or message.sentiment is not None:
        return _TextFacts(message.sentiment, message.emotion)
    analysis = text_services.analyse_interaction(message)
    if analysis is None:
        return _TextFacts()
    return _TextFacts(analysis.sentiment, analysis.emotion, analysis.language)


def _message_language(interaction: Interaction | None, customer: Any, detected_now: str = "") -> str:
    """Text analytics puts the detected language in the message's metadata; until then, what routing detected on
    the fly, else the customer's locale."""
    detected = (interaction.metadata or {}).get("language") if interaction is not None else None
    if isinstance(detected, str) and detected.strip():
        return language_of(detected)
    if detected_now:
        return language_of(detected_now)
    return language_of(getattr(customer, "locale", "") or "")


def _latest_inbound_of_case(case: Case) -> Interaction | None:
    if not case.public_id:
        return None
    return (
        Interaction.objects.filter(case_ref=case.public_id, direction=Direction.INBOUND)
        .only("channel", "direction", "summary", "body", "metadata", "sentiment", "emotion", "text_analysed_at")
        .order_by("-occurred_at", "-id")
        .first()
    )


def facts_for_case(case: Case, text: str = "", *, sentiment: float | None = None, emotion: str = "") -> RouteFacts:
    """A saved case: its goal, category, priority, channel and customer, and the latest message serving it (for
    sentiment, emotion and detected language). `sentiment` and `emotion` stand in when no message serves the case
    yet (a survey follow-up carries those of the customer's answer)."""
    message = _latest_inbound_of_case(case)
    scores = _text_facts(message)
    return RouteFacts(
        target=RuleTarget.CASES.value,
        channel=case.source_channel,
        language=_message_language(message, case.customer, scores.language),
        goal=case.goal.key if case.goal_id is not None else "",
        category=case.category.key if case.category is not None else "",
        priority=case.priority,
        customer_tier=customer_tier(case.customer),
        sentiment=scores.sentiment if message is not None else sentiment,
        emotion=scores.emotion if message is not None else emotion,
        text=f"{case.subject}\n{text or case.description}",
    )


def facts_for_conversation(thread: Thread, message: Interaction | None) -> RouteFacts:
    body = (message.body or message.summary) if message is not None else ""
    scores = _text_facts(message)
    return RouteFacts(
        target=RuleTarget.CONVERSATIONS.value,
        channel=thread.channel,
        language=_message_language(message, thread.customer, scores.language),
        customer_tier=customer_tier(thread.customer),
        sentiment=scores.sentiment,
        emotion=scores.emotion,
        text=f"{thread.subject}\n{body}",
    )


# --- matching ------------------------------------------------------------------------------------------------------


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def _in(value: str, options: Iterable[str]) -> bool:
    folded = value.casefold()
    return bool(value) and any(folded == str(option).casefold() for option in options)


_FACT_OF = {
    "channels": ("channel", "channel"),
    "languages": ("language", "language"),
    "goals": ("goal", "goal"),
    "categories": ("category", "category"),
    "customer_tiers": ("customer_tier", "customer tier"),
    "priorities": ("priority", "priority"),
    "emotions": ("emotion", "emotion"),
}


def _check_condition(key: str, wanted: Any, facts: RouteFacts) -> str | None:
    """None when the condition holds, else why it does not."""
    if key == "keywords":
        found = [k for k in wanted if _keyword_pattern(str(k)).search(facts.text)]
        return None if found else f"none of the keywords {', '.join(map(str, wanted))} is in the text"
    if key == "sentiment_below":
        if facts.sentiment is None:
            return "the sentiment is not known yet"
        return None if facts.sentiment < float(wanted) else f"sentiment {facts.sentiment:g} is not below {wanted:g}"
    attribute, label = _FACT_OF[key]
    value = str(getattr(facts, attribute))
    if _in(value, wanted):
        return None
    if not value:
        return f"the {label} is not known"
    return f"{label} {value!r} is not one of {', '.join(map(str, wanted))}"


def _applies(rule: RoutingRule, target: str) -> bool:
    return rule.applies_to in (RuleTarget.BOTH.value, target)


def check_rule(rule: RoutingRule, facts: RouteFacts) -> RuleCheck:
    """Whether all of the rule's conditions hold for these facts; the reason names the first that does not."""
    if not rule.is_active:
        return RuleCheck(rule, False, "the rule is switched off")
    if not _applies(rule, facts.target):
        return RuleCheck(rule, False, f"the rule does not apply to {facts.target}")
    conditions = rule.conditions or {}
    for key in CONDITION_KEYS:
        if key in conditions:
            reason = _check_condition(key, conditions[key], facts)
            if reason is not None:
                return RuleCheck(rule, False, reason)
    held = [key for key in CONDITION_KEYS if key in conditions]
    return RuleCheck(rule, True, f"matched on {', '.join(held)}" if held else "matched (the rule has no conditions)")


def active_rules(target: str) -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(is_active=True, applies_to__in=(RuleTarget.BOTH.value, target))
        .select_related("queue", "queue__team")
        .order_by("position", "id")
    )


def first_match(rules: Sequence[RoutingRule], facts: RouteFacts) -> RoutingRule | None:
    return next((rule for rule in rules if check_rule(rule, facts).matched), None)


def default_queue() -> Queue | None:
    return Queue.objects.select_related("team").filter(is_default=True).order_by("id").first()


# --- load and choosing the assignee --------------------------------------------------------------------------------


def loads_of(user_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Per user: (active cases owned, open or waiting conversations assigned), two grouped counts."""
    ids = list(user_ids)
    cases = dict(
        Case.objects.filter(owner_id__in=ids, status__in=ACTIVE_STATUSES)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    threads = dict(
        Thread.objects.filter(assigned_to_id__in=ids, status__in=OPEN_THREAD_STATUSES)
        .values("assigned_to_id")
        .annotate(n=Count("id"))
        .values_list("assigned_to_id", "n")
    )
    return {uid: (cases.get(uid, 0), threads.get(uid, 0)) for uid in ids}


def agent_load(user_id: int) -> int:
    """How much open work the agent carries now: active cases owned plus open or waiting conversations."""
    cases, threads = loads_of([user_id])[user_id]
    return cases + threads


def _last_assigned_at(user_ids: Sequence[int]) -> dict[int, datetime]:
    """When each user last got work by routing: a case routed to them (its opening) or a conversation routed to
    them. Users never given any are missing (they have waited longest)."""
    latest: dict[int, datetime] = {}
    case_rows = (
        Case.objects.filter(owner_id__in=user_ids, queue__isnull=False)
        .values("owner_id")
        .annotate(at=Max("opened_at"))
        .values_list("owner_id", "at")
    )
    route_rows = (
        ConversationRoute.objects.filter(thread__assigned_to_id__in=user_ids)
        .values("thread__assigned_to_id")
        .annotate(at=Max("routed_at"))
        .values_list("thread__assigned_to_id", "at")
    )
    for uid, at in [*case_rows, *route_rows]:
        if at is not None and (uid not in latest or at > latest[uid]):
            latest[uid] = at
    return latest


@dataclass(frozen=True)
class Candidate:
    user: User
    load: int
    capacity: int
    status: str

    @property
    def has_room(self) -> bool:
        return self.status == AgentStatus.AVAILABLE and self.user.is_active and self.load < self.capacity


def candidates(queue: Queue) -> list[Candidate]:
    """The queue's members in id order, with their load, capacity and status (missing availability: available
    with the default capacity)."""
    members = list(
        User.objects.filter(pk__in=QueueMember.objects.filter(queue=queue).values("user_id"))
        .select_related("availability")
        .order_by("id")
    )
    loads = loads_of(m.pk for m in members)
    rows = []
    for member in members:
        availability: AgentAvailability | None = getattr(member, "availability", None)
        rows.append(
            Candidate(
                user=member,
                load=sum(loads[member.pk]),
                capacity=availability.capacity if availability is not None else DEFAULT_CAPACITY,
                status=availability.status if availability is not None else AgentStatus.AVAILABLE.value,
            )
        )
    return rows


def pick_assignee(queue: Queue, *, dry_run: bool = False) -> User | None:
    """The member who takes the next piece of work, by the queue's mode; None in manual mode or when nobody has
    room. Unless `dry_run`, remembers them as the queue's last assignee (round robin continues after them)."""
    if queue.assignment_mode == AssignmentMode.MANUAL:
        return None
    eligible = [c for c in candidates(queue) if c.has_room]
    if not eligible:
        return None
    if queue.assignment_mode == AssignmentMode.ROUND_ROBIN:
        last = queue.last_assigned_user_id or 0
        chosen = next((c for c in eligible if c.user.pk > last), eligible[0])
    else:
        waited = _last_assigned_at([c.user.pk for c in eligible])
        never = datetime.min.replace(tzinfo=clock.now().tzinfo)
        chosen = min(eligible, key=lambda c: (c.load, waited.get(c.user.pk, never), c.user.pk))
    if not dry_run:
        Queue.objects.filter(pk=queue.pk).update(last_assigned_user=chosen.user)
        queue.last_assigned_user = chosen.user
    return chosen.user


def _locked_queue(queue: Queue) -> Queue:
    """The queue row locked until the caller's transaction ends, so two routings at once do not both pick the
    same round-robin member (a no-op on SQLite, whose writes are serialised anyway)."""
    return Queue.objects.select_for_update(of=("self",)).select_related("team").get(pk=queue.pk)


def _decide(facts: RouteFacts) -> tuple[Queue, RoutingRule | None] | None:
    rule = first_match(active_rules(facts.target), facts)
    queue = rule.queue if rule is not None else default_queue()
    return (queue, rule) if queue is not None else None


def decide_case_route(
    case: Case, *, text: str = "", sentiment: float | None = None, emotion: str = ""
) -> RouteDecision | None:
    """Where a new (saved) case goes and who takes it. Call inside the caller's transaction: it remembers the
    queue's last assignee. The caller applies the decision and publishes case.assigned. `sentiment` and
    `emotion` are used when no message serves the case (see facts_for_case)."""
    found = _decide(facts_for_case(case, text, sentiment=sentiment, emotion=emotion))
    if found is None:
        return None
    queue = _locked_queue(found[0]) if transaction.get_connection().in_atomic_block else found[0]
    return RouteDecision(queue=queue, rule=found[1], assignee=pick_assignee(queue), team=queue.team)


# --- conversations -------------------------------------------------------------------------------------------------


def _routable_thread(thread_id: int) -> Thread | None:
    """The thread, locked, if it still needs routing: no route yet, nobody assigned, serving no case."""
    already = ConversationRoute.objects.filter(thread_id=OuterRef("pk"))
    return (
        Thread.objects.select_for_update(of=("self",))
        .filter(pk=thread_id, assigned_to__isnull=True, case_ref="")
        .exclude(Exists(already))
        .select_related("customer")
        .first()
    )


def _message_of(thread: Thread, interaction_id: int | None) -> Interaction | None:
    messages = Interaction.objects.filter(thread=thread, direction=Direction.INBOUND)
    if interaction_id is not None:
        messages = messages.filter(pk=interaction_id)
    return messages.order_by("-occurred_at", "-id").first()


@transaction.atomic
def route_conversation(thread_id: int, *, interaction_id: int | None = None) -> RouteDecision | None:
    """Route a new inbound conversation: pick the queue by the rules for conversations, record the route, assign
    it (to the picked agent, or to the queue's team when nobody has room) and publish routing.routed.

    A conversation that was routed before, is assigned already or serves a case is left alone (None), so the
    customer's next messages never move it."""
    thread = _routable_thread(thread_id)
    if thread is None:
        return None
    found = _decide(facts_for_conversation(thread, _message_of(thread, interaction_id)))
    if found is None:
        return None
    queue, rule = _locked_queue(found[0]), found[1]
    assignee = pick_assignee(queue)
    ConversationRoute.objects.create(thread=thread, queue=queue, rule=rule, routed_at=clock.now())
    if assignee is not None or queue.team is not None:
        conversations.assign_thread(Actor.system(SYSTEM), thread, user=assignee, team=queue.team)
    publish(
        WorkRouted(
            kind="conversation",
            object_id=thread.public_id,
            queue=queue.key,
            rule=rule.name if rule is not None else "",
            assignee=assignee.username if assignee is not None else "",
        )
    )
    return RouteDecision(queue=queue, rule=rule, assignee=assignee, team=queue.team)


# --- availability --------------------------------------------------------------------------------------------------


def _availability_snapshot(row: AgentAvailability | None) -> dict[str, Any]:
    if row is None:
        return {"status": AgentStatus.AVAILABLE.value, "capacity": DEFAULT_CAPACITY}
    return {"status": row.status, "capacity": row.capacity}


@transaction.atomic
def set_availability(
    actor: Actor, user: User, *, status: str | None = None, capacity: int | None = None
) -> AgentAvailability:
    """An agent says whether they take new work now (and may change how much they carry); supervisors may set
    anyone's. Work already assigned stays where it is."""
    own = actor.user is not None and actor.user.pk == user.pk
    actor.require(Perm.CASES_WORK if own else Perm.CASES_ASSIGN)
    if status is not None and status not in AgentStatus.values:
        raise ValidationError(
            "Unknown availability.", fields={"status": f"must be one of {', '.join(AgentStatus.values)}"}
        )
    if capacity is not None and (isinstance(capacity, bool) or not 0 <= capacity <= CAPACITY_MAX):
        raise ValidationError("The capacity is out of range.", fields={"capacity": f"from 0 to {CAPACITY_MAX}"})
    if Perm.CASES_WORK not in permissions_for(user.role):
        raise ValidationError("That user does not work cases.", fields={"user": "cannot take work"})
    row = AgentAvailability.objects.select_for_update().filter(user=user).first()
    before = _availability_snapshot(row)
    if row is None:
        row = AgentAvailability(user=user)
    if status is not None:
        row.status = status
    if capacity is not None:
        row.capacity = capacity
    row.save()
    after = _availability_snapshot(row)
    if after != before:
        record_audit(
            actor,
            "agent.availability_changed",
            object_type="user",
            object_id=user.username,
            summary=f"{user.username}: {after['status']}, capacity {after['capacity']}",
            before=before,
            after=after,
        )
    return row


# --- configuration: queues -----------------------------------------------------------------------------------------


def _name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationError("The name must not be empty.", fields={"name": "must not be empty"})
    if len(value) > NAME_MAX:
        raise ValidationError("The name is too long.", fields={"name": f"at most {NAME_MAX} characters"})
    return value


def _mode(value: str) -> str:
    if value not in AssignmentMode.values:
        raise ValidationError(
            "Unknown assignment mode.",
            fields={"assignment_mode": f"must be one of {', '.join(AssignmentMode.values)}"},
        )
    return value


def _queue_snapshot(queue: Queue) -> dict[str, Any]:
    return {
        "key": queue.key,
        "name": queue.name,
        "team": queue.team_id,
        "assignment_mode": queue.assignment_mode,
        "is_default": queue.is_default,
        "members": sorted(QueueMember.objects.filter(queue=queue).values_list("user__username", flat=True)),
    }


def _audit(actor: Actor, action: str, object_type: str, object_id: str, summary: str, **changes: Any) -> None:
    record_audit(
        actor,
        action,
        object_type=object_type,
        object_id=object_id,
        summary=summary,
        before=changes.get("before"),
        after=changes.get("after"),
    )


def _only_default(queue: Queue) -> None:
    """One default queue: making this one the default stops the others being it."""
    if queue.is_default:
        Queue.objects.filter(is_default=True).exclude(pk=queue.pk).update(is_default=False)


@transaction.atomic
def create_queue(
    actor: Actor,
    *,
    key: str,
    name: str,
    team: Team | None = None,
    assignment_mode: str = AssignmentMode.MANUAL.value,
    is_default: bool = False,
    members: Sequence[User] = (),
) -> Queue:
    actor.require(Perm.CASES_CONFIGURE)
    _check_members(members)
    if not _KEY_RE.match(key):
        raise ValidationError(
            "The key is not valid.", fields={"key": "lower-case letters, digits, '_' or '-', starting with a letter"}
        )
    name, mode = _name(name), _mode(assignment_mode)
    if Queue.objects.filter(key=key).exists():
        raise ConflictError(f"A queue with key {key!r} exists already.", fields={"key": "already exists"})
    queue = Queue.objects.create(key=key, name=name, team=team, assignment_mode=mode, is_default=is_default)
    QueueMember.objects.bulk_create([QueueMember(queue=queue, user=user) for user in dict.fromkeys(members)])
    _only_default(queue)
    _audit(actor, "routing_queue.created", "routing_queue", key, f"Queue {name}", after=_queue_snapshot(queue))
    return queue


@transaction.atomic
def update_queue(
    actor: Actor,
    queue: Queue,
    *,
    name: str | None = None,
    team: Team | None = None,
    clear_team: bool = False,
    assignment_mode: str | None = None,
    is_default: bool | None = None,
) -> Queue:
    """Rename, change the team or the assignment mode, or make the queue the default. Its key stays (the API and
    events name queues by it)."""
    actor.require(Perm.CASES_CONFIGURE)
    before = _queue_snapshot(queue)
    if name is not None:
        queue.name = _name(name)
    if clear_team:
        queue.team = None
    elif team is not None:
        queue.team = team
    if assignment_mode is not None:
        queue.assignment_mode = _mode(assignment_mode)
    if is_default is not None:
        queue.is_default = is_default
    queue.save()
    _only_default(queue)
    after = _queue_snapshot(queue)
    if after != before:
        _audit(
            actor,
            "routing_queue.updated",
            "routing_queue",
            queue.key,
            f"Queue {queue.name}",
            before=before,
            after=after,
        )
    return queue


@transaction.atomic
def delete_queue(actor: Actor, queue: Queue) -> None:
    """Delete a queue no rule sends work to (cases in it keep their owner and lose the queue)."""
    actor.require(Perm.CASES_CONFIGURE)
    rules = list(RoutingRule.objects.filter(queue=queue).values_list("name", flat=True))
    if rules:
        raise ConflictError(
            f"Routing rules send work to this queue: {', '.join(rules)}. Change or delete them first.",
            fields={"queue": "used by rules"},
            code="queue_in_use",
        )
    before = _queue_snapshot(queue)
    queue.delete()
    _audit(actor, "routing_queue.deleted", "routing_queue", before["key"], f"Queue {before['name']}", before=before)


def _check_members(users: Sequence[User]) -> None:
    for user in users:
        if not user.is_active:
            raise ValidationError("A member is deactivated.", fields={"members": f"{user.username} is not active"})
        if Perm.CASES_WORK not in permissions_for(user.role):
            raise ValidationError(
                "A member cannot work cases.", fields={"members": f"{user.username} cannot take work"}
            )


@transaction.atomic
def set_queue_members(actor: Actor, queue: Queue, users: Sequence[User]) -> Queue:
    """The queue's members are exactly `users` from now on (work already assigned stays with its owner)."""
    actor.require(Perm.CASES_CONFIGURE)
    _check_members(users)
    before = _queue_snapshot(queue)
    wanted = {u.pk for u in users}
    current = set(QueueMember.objects.filter(queue=queue).values_list("user_id", flat=True))
    QueueMember.objects.filter(queue=queue, user_id__in=current - wanted).delete()
    QueueMember.objects.bulk_create([QueueMember(queue=queue, user_id=uid) for uid in sorted(wanted - current)])
    after = _queue_snapshot(queue)
    if after != before:
        _audit(
            actor,
            "routing_queue.members_changed",
            "routing_queue",
            queue.key,
            f"Queue {queue.name}: {len(after['members'])} member(s)",
            before={"members": before["members"]},
            after={"members": after["members"]},
        )
    return queue


@transaction.atomic
def save_queue_settings(
    actor: Actor,
    queue: Queue,
    *,
    name: str,
    team: Team | None,
    assignment_mode: str,
    is_default: bool,
    members: Sequence[User],
) -> Queue:
    """Everything the settings page edits about a queue at once (no team given: the queue serves no team)."""
    update_queue(
        actor,
        queue,
        name=name,
        team=team,
        clear_team=team is None,
        assignment_mode=assignment_mode,
        is_default=is_default,
    )
    return set_queue_members(actor, queue, members)


def add_queue_member(actor: Actor, queue: Queue, user: User) -> Queue:
    current = list(User.objects.filter(pk__in=QueueMember.objects.filter(queue=queue).values("user_id")))
    return set_queue_members(actor, queue, [*current, user])


def remove_queue_member(actor: Actor, queue: Queue, user: User) -> Queue:
    current = User.objects.filter(pk__in=QueueMember.objects.filter(queue=queue).values("user_id"))
    return set_queue_members(actor, queue, list(current.exclude(pk=user.pk)))


# --- configuration: rules ------------------------------------------------------------------------------------------


def _strings(key: str, value: Any) -> list[str]:
    field = f"conditions.{key}"
    if not isinstance(value, list) or not value:
        raise ValidationError("A condition needs a list of values.", fields={field: "must be a non-empty list"})
    if len(value) > LIST_MAX:
        raise ValidationError("Too many values.", fields={field: f"at most {LIST_MAX} values"})
    cleaned: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError("Values must be text.", fields={field: "each value must be non-empty text"})
        text = " ".join(item.split())
        if len(text) > VALUE_MAX:
            raise ValidationError("A value is too long.", fields={field: f"each at most {VALUE_MAX} characters"})
        if text not in cleaned:
            cleaned.append(text)
    return cleaned


def _known(key: str, values: list[str], known: Iterable[str]) -> list[str]:
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValidationError(f"Unknown {key}.", fields={f"conditions.{key}": f"unknown: {', '.join(unknown)}"})
    return values


def _check_list(key: str, value: Any) -> list[str]:
    values = _strings(key, value)
    if key == "channels":
        return _known(key, values, Channel.values)
    if key == "priorities":
        return _known(key, values, Priority.values)
    if key == "goals":
        return _known(key, values, Goal.objects.filter(key__in=values).values_list("key", flat=True))
    if key == "categories":
        return _known(key, values, Category.objects.filter(key__in=values).values_list("key", flat=True))
    if key == "languages":
        values = list(dict.fromkeys(v.lower() for v in values))
        bad = [v for v in values if not _LANGUAGE_RE.match(v)]
        if bad:
            raise ValidationError(
                "Not a language code.", fields={"conditions.languages": f"two or three letters, e.g. en: {bad[0]}"}
            )
    return values


def check_conditions(conditions: Any, applies_to: str) -> dict[str, Any]:
    """The conditions, checked and tidied (each list de-duplicated, languages lower-cased). Errors name the field:
    `conditions.<key>`."""
    if not isinstance(conditions, dict):
        raise ValidationError("Conditions must be an object.", fields={"conditions": "must be a JSON object"})
    unknown = sorted(set(conditions) - set(CONDITION_KEYS))
    if unknown:
        raise ValidationError(
            "Unknown condition.",
            fields={f"conditions.{unknown[0]}": f"unknown condition; known: {', '.join(CONDITION_KEYS)}"},
        )
    cleaned: dict[str, Any] = {}
    for key in CONDITION_KEYS:
        if key not in conditions:
            continue
        if applies_to == RuleTarget.CONVERSATIONS and key in CASE_ONLY_KEYS:
            raise ValidationError(
                "Conversations have no goal, category or priority.",
                fields={f"conditions.{key}": "only for rules that apply to cases"},
            )
        value = conditions[key]
        if key == "sentiment_below":
            if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
                raise ValidationError(
                    "The sentiment bound must be a number.",
                    fields={"conditions.sentiment_below": "a number from -1 to 1"},
                )
            cleaned[key] = float(value)
        else:
            cleaned[key] = _check_list(key, value)
    return cleaned


def _applies_to(value: str) -> str:
    if value not in RuleTarget.values:
        raise ValidationError(
            "Unknown target.", fields={"applies_to": f"must be one of {', '.join(RuleTarget.values)}"}
        )
    return value


def _rule_snapshot(rule: RoutingRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "applies_to": rule.applies_to,
        "conditions": rule.conditions,
        "queue": rule.queue.key,
    }


def _unique_name(name: str, rule: RoutingRule | None = None) -> str:
    name = _name(name)
    taken = RoutingRule.objects.filter(name=name)
    if rule is not None:
        taken = taken.exclude(pk=rule.pk)
    if taken.exists():
        raise ConflictError(f"A rule named {name!r} exists already.", fields={"name": "already exists"})
    return name


@transaction.atomic
def create_rule(
    actor: Actor,
    *,
    name: str,
    queue: Queue,
    conditions: Any,
    applies_to: str = RuleTarget.BOTH.value,
    is_active: bool = True,
) -> RoutingRule:
    """Add a rule after the existing ones (reorder_rules moves it)."""
    actor.require(Perm.CASES_CONFIGURE)
    name, applies_to = _unique_name(name), _applies_to(applies_to)
    cleaned = check_conditions(conditions, applies_to)
    last = RoutingRule.objects.aggregate(last=Max("position"))["last"]
    rule = RoutingRule.objects.create(
        name=name,
        queue=queue,
        conditions=cleaned,
        applies_to=applies_to,
        is_active=is_active,
        position=(last or 0) + 1,
    )
    _audit(actor, "routing_rule.created", "routing_rule", str(rule.pk), f"Rule {name}", after=_rule_snapshot(rule))
    return rule


@transaction.atomic
def update_rule(
    actor: Actor,
    rule: RoutingRule,
    *,
    name: str | None = None,
    queue: Queue | None = None,
    conditions: Any = None,
    applies_to: str | None = None,
    is_active: bool | None = None,
) -> RoutingRule:
    actor.require(Perm.CASES_CONFIGURE)
    before = _rule_snapshot(rule)
    if name is not None:
        rule.name = _unique_name(name, rule)
    if queue is not None:
        rule.queue = queue
    if applies_to is not None:
        rule.applies_to = _applies_to(applies_to)
    if conditions is not None or applies_to is not None:
        rule.conditions = check_conditions(conditions if conditions is not None else rule.conditions, rule.applies_to)
    if is_active is not None:
        rule.is_active = is_active
    rule.save()
    after = _rule_snapshot(rule)
    if after != before:
        _audit(
            actor, "routing_rule.updated", "routing_rule", str(rule.pk), f"Rule {rule.name}", before=before, after=after
        )
    return rule


@transaction.atomic
def delete_rule(actor: Actor, rule: RoutingRule) -> None:
    actor.require(Perm.CASES_CONFIGURE)
    before = _rule_snapshot(rule)
    rule_id = rule.pk
    rule.delete()
    _audit(actor, "routing_rule.deleted", "routing_rule", str(rule_id), f"Rule {before['name']}", before=before)


@transaction.atomic
def reorder_rules(actor: Actor, rule_ids: Sequence[int]) -> list[RoutingRule]:
    """Put the rules in this order (all of them, each once): the first is tried first."""
    actor.require(Perm.CASES_CONFIGURE)
    rules = {r.pk: r for r in RoutingRule.objects.select_for_update().select_related("queue")}
    if len(set(rule_ids)) != len(rule_ids) or set(rule_ids) != set(rules):
        missing = sorted(set(rules) - set(rule_ids))
        extra = sorted(set(rule_ids) - set(rules))
        reason = "list every rule once"
        if missing:
            reason += f"; missing {', '.join(map(str, missing))}"
        if extra:
            reason += f"; unknown {', '.join(map(str, extra))}"
        raise ValidationError("The order must name every rule once.", fields={"ids": reason})
    before = [r.pk for r in sorted(rules.values(), key=lambda r: (r.position, r.pk))]
    ordered = [rules[pk] for pk in rule_ids]
    for position, rule in enumerate(ordered, start=1):
        rule.position = position
    RoutingRule.objects.bulk_update(ordered, ["position"])
    if before != list(rule_ids):
        _audit(
            actor,
            "routing_rule.reordered",
            "routing_rule",
            "",
            "Routing rules reordered",
            before={"order": before},
            after={"order": list(rule_ids)},
        )
    return ordered


def move_rule(actor: Actor, rule: RoutingRule, offset: int) -> list[RoutingRule]:
    """Move one rule up (offset -1) or down (+1) in the order, for the settings page's arrows."""
    order = list(RoutingRule.objects.order_by("position", "id").values_list("pk", flat=True))
    index = order.index(rule.pk)
    target = max(0, min(len(order) - 1, index + offset))
    order.insert(target, order.pop(index))
    return reorder_rules(actor, order)
