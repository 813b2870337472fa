"""What a rule may listen to and what it may do: the trigger catalogue and the checking of actions.

Triggers are customer event types (registered through the events API) or one of the domain events below: the
ones that concern one customer and carry their id. Each domain event names the payload field that is its own id,
so a run is recorded once per occurrence ("case.opened:case_…"); events without such a field (a customer updated
twice is two occurrences) get a fresh id when they are delivered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cxloop.channels.outbound_webhook import check_url

ACTIONS_MAX = 20
TAGS_MAX = 20
TEXT_MAX = 1000
TITLE_MAX = 200
SUBJECT_MAX = 300
USERS_MAX = 20
PRIORITIES = ("low", "normal", "high", "urgent")
ASSIGN_TARGETS = ("conversation", "case")
_TAG = re.compile(r"^[\w .:/-]{1,50}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,99}$")


@dataclass(frozen=True)
class DomainTrigger:
    name: str
    label: str
    ref_field: str  # the payload field that identifies one occurrence; "" when the event has none


DOMAIN_TRIGGERS: dict[str, DomainTrigger] = {
    t.name: t
    for t in (
        DomainTrigger("customer.created", "A customer profile was created", "customer_id"),
        DomainTrigger("customer.updated", "A customer profile was changed", ""),
        DomainTrigger("message.received", "A customer's message arrived (any channel)", "interaction_id"),
        DomainTrigger("message.failed", "A message to the customer failed", "message_id"),
        DomainTrigger("case.opened", "A case was opened", "case_id"),
        DomainTrigger("case.resolved", "A case was resolved", ""),
        DomainTrigger("promise.made", "A promise was made to the customer", "promise_id"),
        DomainTrigger("survey.sent", "A survey was sent", "invitation_id"),
        DomainTrigger("response.received", "A survey answer arrived", "response_id"),
        DomainTrigger("loop.opened", "A follow-up of an unhappy answer was opened", "loop_id"),
        DomainTrigger("consent.changed", "The customer's consent changed", ""),
        DomainTrigger("chat.visitor_identified", "A chat visitor was identified", ""),
    )
}

ACTION_TYPES = ("tag", "assign", "notify", "open_case", "webhook")


def _text(action: dict[str, Any], key: str, path: str, errors: dict[str, str], *, limit: int, required: bool) -> str:
    value = action.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[f"{path}.{key}"] = "must be text"
        return ""
    text = str(value).strip()
    if required and not text:
        errors[f"{path}.{key}"] = "required"
    elif len(text) > limit:
        errors[f"{path}.{key}"] = f"at most {limit} characters"
    return text


def _names(action: dict[str, Any], key: str, path: str, errors: dict[str, str], *, limit: int) -> list[str]:
    value = action.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        errors[f"{path}.{key}"] = "must be a list of texts"
        return []
    if len(value) > limit:
        errors[f"{path}.{key}"] = f"at most {limit}"
    cleaned: list[str] = []
    for v in value:
        if v.strip() not in cleaned:
            cleaned.append(v.strip())
    return cleaned


def _unknown(action: dict[str, Any], allowed: set[str], path: str, errors: dict[str, str]) -> None:
    for key in action:
        if key not in allowed:
            errors[f"{path}.{key}"] = "unknown field here"


def _tag(action: dict[str, Any], path: str, errors: dict[str, str]) -> dict[str, Any]:
    _unknown(action, {"type", "add", "remove"}, path, errors)
    add = [" ".join(t.split()).lower() for t in _names(action, "add", path, errors, limit=TAGS_MAX)]
    remove = [" ".join(t.split()).lower() for t in _names(action, "remove", path, errors, limit=TAGS_MAX)]
    for key, tags in (("add", add), ("remove", remove)):
        for index, tag in enumerate(tags):
            if not _TAG.match(tag):
                errors[f"{path}.{key}[{index}]"] = "letters, digits, spaces and .:/- (at most 50)"
    if not add and not remove and f"{path}.add" not in errors and f"{path}.remove" not in errors:
        errors[f"{path}.add"] = "add or remove at least one tag"
    return {"type": "tag", "add": add, "remove": remove}


def _assign(action: dict[str, Any], path: str, errors: dict[str, str]) -> dict[str, Any]:
    _unknown(action, {"type", "target", "user", "team"}, path, errors)
    target = action.get("target", "conversation")
    if target not in ASSIGN_TARGETS:
        errors[f"{path}.target"] = f"must be one of: {', '.join(ASSIGN_TARGETS)}"
    user = _text(action, "user", path, errors, limit=150, required=False)
    team = _text(action, "team", path, errors, limit=100, required=False)
    if not user and not team and f"{path}.user" not in errors:
        errors[f"{path}.user"] = "give a user, a team or both"
    return {"type": "assign", "target": target, "user": user, "team": team}


def _notify(action: dict[str, Any], path: str, errors: dict[str, str]) -> dict[str, Any]:
    _unknown(action, {"type", "users", "team", "title", "body"}, path, errors)
    users = _names(action, "users", path, errors, limit=USERS_MAX)
    team = _text(action, "team", path, errors, limit=100, required=False)
    if not users and not team and f"{path}.users" not in errors:
        errors[f"{path}.users"] = "give users, a team or both"
    title = _text(action, "title", path, errors, limit=TITLE_MAX, required=True)
    body = _text(action, "body", path, errors, limit=TEXT_MAX, required=False)
    return {"type": "notify", "users": users, "team": team, "title": title, "body": body}


def _open_case(action: dict[str, Any], path: str, errors: dict[str, str]) -> dict[str, Any]:
    _unknown(action, {"type", "subject", "description", "priority", "goal", "category", "owner", "team"}, path, errors)
    subject = _text(action, "subject", path, errors, limit=SUBJECT_MAX, required=True)
    description = _text(action, "description", path, errors, limit=TEXT_MAX, required=False)
    priority = action.get("priority", "normal")
    if priority not in PRIORITIES:
        errors[f"{path}.priority"] = f"must be one of: {', '.join(PRIORITIES)}"
    cleaned = {"type": "open_case", "subject": subject, "description": description, "priority": priority}
    for key in ("goal", "category", "owner", "team"):
        cleaned[key] = _text(action, key, path, errors, limit=150, required=False)
    return cleaned


def _webhook(action: dict[str, Any], path: str, errors: dict[str, str]) -> dict[str, Any]:
    _unknown(action, {"type", "url"}, path, errors)
    url = _text(action, "url", path, errors, limit=2000, required=True)
    if url and f"{path}.url" not in errors:
        problem = check_url(url)
        if problem is not None:
            errors[f"{path}.url"] = problem
    return {"type": "webhook", "url": url}


_CHECKS = {"tag": _tag, "assign": _assign, "notify": _notify, "open_case": _open_case, "webhook": _webhook}


def check_actions(raw: Any, errors: dict[str, str], root: str = "actions") -> list[dict[str, Any]]:
    """The actions, cleaned; each problem lands in `errors` under its path ("actions[2].url")."""
    if not isinstance(raw, list) or not raw:
        errors[root] = "give a list of at least one action"
        return []
    if len(raw) > ACTIONS_MAX:
        errors[root] = f"at most {ACTIONS_MAX} actions"
        return []
    cleaned: list[dict[str, Any]] = []
    for index, action in enumerate(raw):
        path = f"{root}[{index}]"
        if not isinstance(action, dict):
            errors[path] = "must be an object with a type"
            continue
        kind = action.get("type")
        check = _CHECKS.get(kind) if isinstance(kind, str) else None
        if check is None:
            errors[f"{path}.type"] = f"must be one of: {', '.join(ACTION_TYPES)}"
            continue
        cleaned.append(check(action, path, errors))
    return cleaned


def check_trigger(source: str, trigger_type: str, known_types: set[str], errors: dict[str, str]) -> None:
    if source == "domain_event":
        if trigger_type not in DOMAIN_TRIGGERS:
            errors["trigger.type"] = f"must be one of: {', '.join(DOMAIN_TRIGGERS)}"
    elif source == "customer_event":
        if not _KEY.match(trigger_type):
            errors["trigger.type"] = "must be an event type key such as purchase.completed"
        elif trigger_type not in known_types:
            errors["trigger.type"] = "is not a registered event type"
    else:
        errors["trigger.source"] = "must be customer_event or domain_event"


def action_summary(action: dict[str, Any]) -> str:
    """One line per action, for the rule list and the audit trail."""
    kind = action.get("type")
    if kind == "tag":
        parts = [f"+{t}" for t in action.get("add", [])] + [f"−{t}" for t in action.get("remove", [])]
        return "Tag " + " ".join(parts)
    if kind == "assign":
        who = " / ".join(p for p in (action.get("user", ""), action.get("team", "")) if p)
        return f"Assign the {action.get('target', 'conversation')} to {who}"
    if kind == "notify":
        who = ", ".join([*action.get("users", []), *([f"team {action['team']}"] if action.get("team") else [])])
        return f"Notify {who}: {action.get('title', '')}"
    if kind == "open_case":
        return f"Open a case: {action.get('subject', '')}"
    if kind == "webhook":
        return f"Call {action.get('url', '')}"
    return str(kind)
