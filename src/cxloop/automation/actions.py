"""What a rule does: each action kind through the service of the module that owns the change.

Each function runs inside the runner's transaction for that one action (with the run's outcome written in the
same transaction, so a retry never does it twice) and returns the detail the run log shows; a refusal raises the
owning module's CxloopError, which the runner records as that action's failure. The webhook is the exception: it
calls out, so the runner calls it outside any transaction (see runner.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cxloop.accounts import queries as account_queries
from cxloop.accounts.models import Team, User
from cxloop.accounts.notifications import NotificationInput, notify_many
from cxloop.cases.models import ACTIVE_STATUSES, Category, Goal
from cxloop.cases.queries import cases as case_queries
from cxloop.cases.services import cases as case_services
from cxloop.cases.services.cases import CaseInput
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.interactions import inbox as inbox_queries
from cxloop.interactions.conversations import assign_thread
from cxloop.interactions.models import ThreadStatus

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)\}")


class Skipped(Exception):
    """Nothing to do for this action (no open conversation to assign): recorded as skipped, not failed."""


@dataclass(frozen=True)
class Context:
    """What an action may use: who acts, the rule, the customer and the triggering event."""

    actor: Actor
    rule_id: str
    rule_name: str
    customer: Customer
    trigger_type: str
    properties: dict[str, Any]


def fill(template: str, ctx: Context) -> str:
    """Replace {customer.name}, {customer.id}, {event.type}, {event.properties.<key>} and {rule.name}; an unknown
    placeholder is left as written, so a typo shows in the notification instead of vanishing."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "customer.name":
            return ctx.customer.display_name
        if name == "customer.id":
            return ctx.customer.public_id
        if name == "event.type":
            return ctx.trigger_type
        if name == "rule.name":
            return ctx.rule_name
        if name.startswith("event.properties."):
            found: Any = ctx.properties
            for part in name.removeprefix("event.properties.").split("."):
                if not isinstance(found, dict) or part not in found:
                    return match.group(0)
                found = found[part]
            return str(found)
        return match.group(0)

    return _PLACEHOLDER.sub(value, template)


def _user(username: str, path: str) -> User | None:
    if not username:
        return None
    user = account_queries.find_user(username)
    if user is None or not user.is_active:
        raise ValidationError("That user cannot be given work.", fields={path: f"no active user {username!r}"})
    return user


def _team(name: str, path: str) -> Team | None:
    if not name:
        return None
    team = account_queries.find_team(name)
    if team is None:
        raise ValidationError("That team does not exist.", fields={path: f"no team {name!r}"})
    return team


def tag(ctx: Context, action: dict[str, Any]) -> dict[str, Any]:
    current = list(ctx.customer.tags.order_by("name").values_list("name", flat=True))
    added = [t for t in action.get("add", []) if t not in current]
    removed = [t for t in action.get("remove", []) if t in current]
    if not added and not removed:
        return {"added": [], "removed": [], "note": "the customer already had these tags"}
    tags = [t for t in current if t not in removed] + added
    customer_services.update_customer(ctx.actor, ctx.customer, {"tags": tags})
    return {"added": added, "removed": removed}


def _conversation(ctx: Context) -> Any:
    named = str(ctx.properties.get("thread_id") or ctx.properties.get("conversation_id") or "")
    if named:
        try:
            return inbox_queries.get_conversation(ctx.actor, named)
        except NotFoundError:
            pass
    for thread in inbox_queries.customer_conversations(ctx.actor, ctx.customer, limit=20):
        if thread.status != ThreadStatus.CLOSED:
            return thread
    raise Skipped("the customer has no open conversation")


def _case(ctx: Context) -> Any:
    named = str(ctx.properties.get("case_id") or "")
    if named:
        try:
            return case_queries.get_case(ctx.actor, named)
        except NotFoundError:
            pass
    for case in case_queries.cases_of_customer(ctx.actor, ctx.customer.pk, limit=20):
        if case.status in ACTIVE_STATUSES:
            return case
    raise Skipped("the customer has no open case")


def assign(ctx: Context, action: dict[str, Any]) -> dict[str, Any]:
    """The event's own conversation or case when it names one, else the customer's most recent open one."""
    user = _user(action.get("user", ""), "user")
    team = _team(action.get("team", ""), "team")
    if action.get("target") == "case":
        case = _case(ctx)
        case_services.assign_case(ctx.actor, case, owner=user, team=team, note=f"Automation rule: {ctx.rule_name}")
        return {"case": case.public_id, "user": action.get("user", ""), "team": action.get("team", "")}
    thread = _conversation(ctx)
    assign_thread(ctx.actor, thread, user=user, team=team)
    return {"conversation": thread.public_id, "user": action.get("user", ""), "team": action.get("team", "")}


def notify(ctx: Context, action: dict[str, Any]) -> dict[str, Any]:
    recipients: dict[int, str] = {}
    for username in action.get("users", []):
        user = _user(username, "users")
        if user is not None:
            recipients[user.pk] = user.username
    team = _team(action.get("team", ""), "team")
    if team is not None:
        for pk, username in User.objects.filter(team=team, is_active=True).values_list("pk", "username"):
            recipients[pk] = username
    title, body = fill(action.get("title", ""), ctx), fill(action.get("body", ""), ctx)
    url = f"/customers/{ctx.customer.public_id}/"
    notify_many([NotificationInput(pk, "automation", title, body, url) for pk in recipients])
    return {"notified": sorted(recipients.values()), "title": title}


def open_case(ctx: Context, action: dict[str, Any]) -> dict[str, Any]:
    goal = Goal.objects.filter(key=action["goal"]).first() if action.get("goal") else None
    if action.get("goal") and goal is None:
        raise ValidationError("That goal does not exist.", fields={"goal": f"no goal {action['goal']!r}"})
    category = Category.objects.filter(key=action["category"]).first() if action.get("category") else None
    if action.get("category") and category is None:
        raise ValidationError(
            "That category does not exist.", fields={"category": f"no category {action['category']!r}"}
        )
    case = case_services.open_case(
        ctx.actor,
        CaseInput(
            customer=ctx.customer,
            subject=fill(action["subject"], ctx)[:300],
            description=fill(action.get("description", ""), ctx),
            priority=action.get("priority", "normal"),
            goal=goal,
            category=category,
            owner=_user(action.get("owner", ""), "owner"),
            team=_team(action.get("team", ""), "team"),
        ),
    )
    return {"case": case.public_id, "subject": case.subject}


IN_TRANSACTION = {"tag": tag, "assign": assign, "notify": notify, "open_case": open_case}
