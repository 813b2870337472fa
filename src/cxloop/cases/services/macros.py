"""Macros and bulk actions: the same list of case actions run on one case or on many at once.

An action is a small JSON object: `{"type": "set_priority", "value": "high"}`. The list is checked precisely
when a macro is saved (and when the bulk bar sends one), so a typo is refused with the action's index and field
instead of failing on the hundredth case. Applying runs each case in its own savepoint through the ordinary case
services (state machine, hand-over rule, audit, events): one case that cannot take an action is reported and
left as it was, and the others go on.

| type | fields |
| --- | --- |
| set_status | value (a status), outcome (text, optional), goal_achieved (bool, optional) |
| set_priority | value (low, normal, high, urgent) |
| set_category | value (a category key, or null to clear) |
| set_goal | value (a goal key) |
| assign | owner (username or null), team (team id, optional), note (the hand-over note) |
| add_task | title, description (optional), due_in_hours (optional) |
| add_note | body (an internal note on the case's timeline) |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction

from cxloop.accounts.models import Team, User
from cxloop.cases.models import Case, CaseStatus, Category, Goal, Macro, Priority
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import plans
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, NotFoundError, ValidationError
from cxloop.core.ids import whole_number
from cxloop.core.permissions import Perm
from cxloop.interactions.models import Interaction
from cxloop.interactions.services import record_interaction
from cxloop.interactions.types import InteractionInput
from cxloop.privacy.services import record_audit

MAX_ACTIONS = 20
MAX_CASES = 200
NOTE_MAX = 50_000

# Each type: its required fields, its optional fields.
ACTION_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "set_status": (frozenset({"value"}), frozenset({"outcome", "goal_achieved"})),
    "set_priority": (frozenset({"value"}), frozenset()),
    "set_category": (frozenset({"value"}), frozenset()),
    "set_goal": (frozenset({"value"}), frozenset()),
    "assign": (frozenset({"owner"}), frozenset({"team", "note"})),
    "add_task": (frozenset({"title"}), frozenset({"description", "due_in_hours"})),
    "add_note": (frozenset({"body"}), frozenset()),
}
ACTION_TYPES = tuple(ACTION_FIELDS)


# --- checking ---------------------------------------------------------------------------------------------------


def _text(value: Any, limit: int, *, required: bool) -> str | None:
    """The stripped text, or None when it is not acceptable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if (required and not text) or len(text) > limit:
        return None
    return text


def _check_value(kind: str, item: dict[str, Any]) -> dict[str, str]:
    """Reasons per field of one action of type `kind` (empty when it is fine)."""
    checker = _CHECKERS[kind]
    return checker(item)


def _check_set_status(item: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if item.get("value") not in CaseStatus.values:
        errors["value"] = f"must be one of {', '.join(CaseStatus.values)}"
    if "outcome" in item and _text(item["outcome"], 5000, required=False) is None:
        errors["outcome"] = "must be text of at most 5000 characters"
    if "goal_achieved" in item and not isinstance(item["goal_achieved"], bool | None):
        errors["goal_achieved"] = "must be true, false or null"
    return errors


def _check_set_priority(item: dict[str, Any]) -> dict[str, str]:
    if item.get("value") not in Priority.values:
        return {"value": f"must be one of {', '.join(Priority.values)}"}
    return {}


def _check_set_category(item: dict[str, Any]) -> dict[str, str]:
    value = item.get("value")
    if value is None:
        return {}
    if not isinstance(value, str) or not Category.objects.filter(key=value, is_active=True).exists():
        return {"value": "no active category with that key"}
    return {}


def _check_set_goal(item: dict[str, Any]) -> dict[str, str]:
    value = item.get("value")
    if not isinstance(value, str) or not Goal.objects.filter(key=value, is_active=True).exists():
        return {"value": "no active goal with that key"}
    return {}


def _check_assign(item: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    owner = item.get("owner")
    if owner is not None and (
        not isinstance(owner, str) or not User.objects.filter(username=owner, is_active=True).exists()
    ):
        errors["owner"] = "no active user with that username"
    team = item.get("team")
    if team is not None and (
        isinstance(team, bool) or not isinstance(team, int) or not Team.objects.filter(pk=team).exists()
    ):
        errors["team"] = "no team with that id"
    if "note" in item and _text(item["note"], 5000, required=False) is None:
        errors["note"] = "must be text of at most 5000 characters"
    if owner is None and team is None:
        errors["owner"] = "give an owner or a team"
    return errors


def _check_add_task(item: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if _text(item.get("title"), plans.TITLE_MAX, required=True) is None:
        errors["title"] = f"must be 1 to {plans.TITLE_MAX} characters"
    if "description" in item and _text(item["description"], 5000, required=False) is None:
        errors["description"] = "must be text of at most 5000 characters"
    hours = item.get("due_in_hours")
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int) or not 0 < hours <= 8760):
        errors["due_in_hours"] = "must be a whole number of hours between 1 and 8760"
    return errors


def _check_add_note(item: dict[str, Any]) -> dict[str, str]:
    if _text(item.get("body"), NOTE_MAX, required=True) is None:
        return {"body": f"must be 1 to {NOTE_MAX} characters"}
    return {}


_CHECKERS: dict[str, Callable[[dict[str, Any]], dict[str, str]]] = {
    "set_status": _check_set_status,
    "set_priority": _check_set_priority,
    "set_category": _check_set_category,
    "set_goal": _check_set_goal,
    "assign": _check_assign,
    "add_task": _check_add_task,
    "add_note": _check_add_note,
}


def _check_one(index: int, item: Any, errors: dict[str, str]) -> dict[str, Any] | None:
    where = f"actions[{index}]"
    if not isinstance(item, dict):
        errors[where] = "must be an object"
        return None
    kind = item.get("type")
    if kind not in ACTION_FIELDS:
        errors[f"{where}.type"] = f"must be one of {', '.join(ACTION_TYPES)}"
        return None
    required, optional = ACTION_FIELDS[kind]
    problems = dict.fromkeys(sorted(required - set(item)), "is required")
    problems |= dict.fromkeys(sorted(set(item) - required - optional - {"type"}), "is not a field of this action")
    if not problems:
        problems = _check_value(kind, item)
    for name, reason in problems.items():
        errors[f"{where}.{name}"] = reason
    return None if problems else dict(item)


def check_actions(actions: Any) -> list[dict[str, Any]]:
    """The actions, checked; every problem is reported with the action's index and field."""
    if not isinstance(actions, list) or not actions:
        raise ValidationError("Give at least one action.", fields={"actions": "must be a non-empty list"})
    if len(actions) > MAX_ACTIONS:
        raise ValidationError("Too many actions.", fields={"actions": f"at most {MAX_ACTIONS}"})
    errors: dict[str, str] = {}
    cleaned = [_check_one(index, item, errors) for index, item in enumerate(actions)]
    if errors:
        raise ValidationError("Some actions are not valid.", fields=errors)
    return [item for item in cleaned if item is not None]


# --- applying ---------------------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    """What happened to one case: ok, or the error that left it unchanged."""

    case_id: str
    ok: bool
    number: int | None = None
    code: str = ""
    message: str = ""
    fields: dict[str, str] = field(default_factory=dict)


@transaction.atomic
def add_case_note(actor: Actor, case: Case, body: str) -> Interaction:
    """An internal note on the case's timeline, even when the case has no conversation."""
    actor.require(Perm.CASES_WORK)
    text = _text(body, NOTE_MAX, required=True)
    if text is None:
        raise ValidationError("The note is empty or too long.", fields={"body": f"must be 1 to {NOTE_MAX} characters"})
    return record_interaction(
        actor,
        case.customer,
        InteractionInput(
            channel="note", direction="internal", body=text, case_ref=case.public_id, metadata={"kind": "note"}
        ),
    )


def _apply_action(actor: Actor, case: Case, action: dict[str, Any], label: str) -> Case:
    kind = action["type"]
    if kind == "set_status":
        return case_services.change_status(
            actor,
            case,
            action["value"],
            goal_achieved=action.get("goal_achieved"),
            outcome=action.get("outcome") or "",
            reason=label,
        )
    if kind in ("set_priority", "set_category", "set_goal"):
        return case_services.update_case(actor, case, _changes(kind, action["value"]))
    if kind == "assign":
        owner = User.objects.filter(username=action["owner"]).first() if action["owner"] else None
        if action["owner"] and owner is None:
            raise ValidationError("No such user.", fields={"owner": "unknown username"})
        team = Team.objects.filter(pk=action["team"]).first() if action.get("team") is not None else None
        return case_services.assign_case(actor, case, owner=owner, team=team, note=action.get("note") or "")
    if kind == "add_task":
        hours = action.get("due_in_hours")
        due = clock.now() + timedelta(hours=hours) if hours else None
        plans.add_task(
            actor, case, plans.TaskInput(title=action["title"], description=action.get("description") or "", due_at=due)
        )
        return case
    add_case_note(actor, case, action["body"])
    return case


def _changes(kind: str, value: str | None) -> case_services.CaseChanges:
    if kind == "set_priority":
        return case_services.CaseChanges(priority=value)
    if kind == "set_goal":
        goal = Goal.objects.filter(key=value).first()
        if goal is None:
            raise ValidationError("No such goal.", fields={"value": "unknown goal"})
        return case_services.CaseChanges(goal=goal)
    if value is None:
        return case_services.CaseChanges(clear_category=True)
    category = Category.objects.filter(key=value).first()
    if category is None:
        raise ValidationError("No such category.", fields={"value": "unknown category"})
    return case_services.CaseChanges(category=category)


def _authorise(actor: Actor, actions: list[dict[str, Any]], count: int) -> None:
    actor.require(Perm.CASES_WORK)
    if count > MAX_CASES:
        raise ValidationError("Too many cases at once.", fields={"case_ids": f"at most {MAX_CASES}"})
    if count > 1 and any(a["type"] == "assign" for a in actions):
        actor.require(Perm.CASES_ASSIGN)


def _run(actor: Actor, cases: list[Case], actions: list[dict[str, Any]], label: str) -> list[CaseResult]:
    results: list[CaseResult] = []
    for case in cases:
        try:
            with transaction.atomic():
                current = case
                for action in actions:
                    current = _apply_action(actor, current, action, label)
        except CxloopError as exc:
            results.append(
                CaseResult(
                    case.public_id, ok=False, number=case.pk, code=exc.code, message=exc.message, fields=exc.fields
                )
            )
        else:
            results.append(CaseResult(case.public_id, ok=True, number=case.pk))
    return results


def _audit_run(actor: Actor, action: str, object_id: str, label: str, results: list[CaseResult]) -> None:
    done = [r.case_id for r in results if r.ok]
    failed = {r.case_id: r.code for r in results if not r.ok}
    record_audit(
        actor,
        action,
        object_type="macro" if action == "macro.applied" else "case",
        object_id=object_id,
        summary=f"{label}: {len(done)} case(s) changed, {len(failed)} refused",
        after={"changed": done[:500], "refused": dict(list(failed.items())[:500])},
    )


@transaction.atomic
def apply_macro(actor: Actor, macro: Macro, cases: list[Case]) -> list[CaseResult]:
    """Run the macro's actions on each case; each case succeeds or fails on its own."""
    actor.require(Perm.CASES_WORK)
    if not macro.is_active:
        raise ValidationError("That macro is switched off.", fields={"macro": "is not active"})
    actions = check_actions(list(macro.actions))
    _authorise(actor, actions, len(cases))
    label = f"macro {macro.name}"
    results = _run(actor, cases, actions, label)
    _audit_run(actor, "macro.applied", str(macro.pk), label, results)
    return results


@transaction.atomic
def apply_macro_by_ids(actor: Actor, macro: Macro, case_ids: list[str]) -> list[CaseResult]:
    """apply_macro on the named cases (public ids or numbers); an unknown one is reported as not found."""
    actor.require(Perm.CASES_WORK)
    if not case_ids:
        raise ValidationError("Choose at least one case.", fields={"case_ids": "must not be empty"})
    found, missing = _find_cases(case_ids)
    return apply_macro(actor, macro, found) + missing


def _find_cases(case_ids: list[str]) -> tuple[list[Case], list[CaseResult]]:
    """The named cases (public id or number), in the order given, and a not-found result for each unknown one."""
    numbers = [n for i in case_ids if (n := whole_number(i.lstrip("#"))) is not None]
    public = [i for i in case_ids if whole_number(i.lstrip("#")) is None]
    rows = Case.objects.filter(pk__in=numbers) | Case.objects.filter(public_id__in=public)
    by_key: dict[str, Case] = {}
    for row in rows.select_related("customer", "goal", "category", "owner", "team"):
        by_key[str(row.pk)] = by_key[row.public_id] = row
    found: list[Case] = []
    missing: list[CaseResult] = []
    seen: set[int] = set()
    for raw in case_ids:
        case = by_key.get(raw.lstrip("#"))
        if case is None:
            missing.append(CaseResult(raw, ok=False, code=NotFoundError.code, message="No such case."))
        elif case.pk not in seen:
            seen.add(case.pk)
            found.append(case)
    return found, missing


@transaction.atomic
def bulk_update(actor: Actor, case_ids: list[str], actions: list[dict[str, Any]]) -> list[CaseResult]:
    """The queue's bulk bar: `actions` on each of the named cases (public ids or numbers)."""
    actor.require(Perm.CASES_WORK)
    if not case_ids:
        raise ValidationError("Choose at least one case.", fields={"case_ids": "must not be empty"})
    cleaned = check_actions(actions)
    _authorise(actor, cleaned, len(set(case_ids)))
    found, missing = _find_cases(case_ids)
    results = _run(actor, found, cleaned, "bulk action") + missing
    _audit_run(actor, "cases.bulk_updated", "", "bulk action", results)
    return results
