"""Closed-loop rules: "when an answer is this unhappy, open a follow-up case like this".

A rule's conditions are a small JSON object; every key given must hold, and the first active rule (in `position`
order) whose conditions all hold opens the loop. The matching (`check_rule`) is pure so the rules page can say
why a rule did or did not match an answer without writing anything.

    kinds            ["nps", "csat", "ces", "custom"]     the survey's kind is one of these
    surveys          ["after-case", ...]                  the survey's key is one of these
    score_at_most    6                                    the main score is known and at most this
    sentiment_below  -0.5                                 the comment's sentiment is known and below this
    emotions         ["anger", "frustration"]             the comment's strongest emotion is one of these
    has_comment      true                                 the customer wrote (true) or did not write (false) a comment

A rule needs at least one condition: a rule that matched every answer would open a case for every promoter too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max

from cxloop.accounts.models import Team, User
from cxloop.cases.models import Category, Goal, Priority
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.feedback.models import LoopRule, Response, Survey, SurveyKind
from cxloop.privacy.services import record_audit
from cxloop.textanalytics import EMOTIONS

CONDITION_KEYS = ("kinds", "surveys", "score_at_most", "sentiment_below", "emotions", "has_comment")
NAME_MAX = 200
LIST_MAX = 50
SCORE_MAX = 10


@dataclass(frozen=True)
class RuleCheck:
    """One rule tried against one answer: whether it matched, and if not, the first condition that failed."""

    rule: LoopRule
    matched: bool
    reason: str


# --- matching ------------------------------------------------------------------------------------------------------


def _failed_condition(key: str, wanted: Any, response: Response) -> str | None:  # noqa: PLR0911 - one branch a key
    """None when the condition holds for the answer, else why not."""
    if key == "kinds":
        return None if response.kind in wanted else f"the survey kind {response.kind} is not among {', '.join(wanted)}"
    if key == "surveys":
        survey_key = response.survey.key
        return None if survey_key in wanted else f"the survey {survey_key} is not among {', '.join(wanted)}"
    if key == "score_at_most":
        if response.score is None:
            return "the answer has no score"
        return None if response.score <= wanted else f"score {response.score} is above {wanted}"
    if key == "sentiment_below":
        if response.sentiment is None:
            return "the sentiment is not known"
        return None if response.sentiment < wanted else f"sentiment {response.sentiment:g} is not below {wanted:g}"
    if key == "emotions":
        if not response.emotion:
            return "no emotion was found in the comment"
        if response.emotion in wanted:
            return None
        return f"the emotion {response.emotion} is not among {', '.join(wanted)}"
    if key == "has_comment":
        has = bool(response.comment.strip())
        return None if has == wanted else ("the answer has a comment" if has else "the answer has no comment")
    return f"unknown condition {key}"


def check_rule(rule: LoopRule, response: Response) -> RuleCheck:
    if not rule.is_active:
        return RuleCheck(rule, False, "the rule is switched off")
    if rule.survey_id is not None and rule.survey_id != response.survey_id:
        return RuleCheck(rule, False, "the rule is for another survey")
    conditions = rule.conditions or {}
    for key in CONDITION_KEYS:
        if key in conditions:
            reason = _failed_condition(key, conditions[key], response)
            if reason is not None:
                return RuleCheck(rule, False, reason)
    return RuleCheck(rule, True, "all conditions hold")


def active_rules() -> list[LoopRule]:
    return list(
        LoopRule.objects.filter(is_active=True)
        .select_related("category", "goal", "owner", "team")
        .order_by("position", "id")
    )


def first_match(response: Response, rules: Sequence[LoopRule] | None = None) -> LoopRule | None:
    """The rule that opens the loop for this answer: the first active one whose conditions all hold."""
    candidates = active_rules() if rules is None else rules
    return next((rule for rule in candidates if check_rule(rule, response).matched), None)


# --- validation ----------------------------------------------------------------------------------------------------


def _strings(key: str, value: Any) -> list[str]:
    field = f"conditions.{key}"
    if not isinstance(value, list) or not value:
        raise ValidationError("A condition needs a list of values.", fields={field: "must be a non-empty list"})
    if len(value) > LIST_MAX:
        raise ValidationError("Too many values.", fields={field: f"at most {LIST_MAX} values"})
    if not all(isinstance(item, str) and item.strip() for item in value):
        raise ValidationError("Values must be text.", fields={field: "each value must be non-empty text"})
    return list(dict.fromkeys(item.strip() for item in value))


def _known(key: str, values: list[str], known: Sequence[str]) -> list[str]:
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValidationError(f"Unknown {key}.", fields={f"conditions.{key}": f"unknown: {', '.join(unknown)}"})
    return values


def _number(key: str, value: Any, low: float, high: float, *, whole: bool) -> float | int:
    numeric = isinstance(value, int) if whole else isinstance(value, int | float)
    if isinstance(value, bool) or not numeric or not low <= value <= high:
        what = "a whole number" if whole else "a number"
        raise ValidationError(
            "A bound is out of range.", fields={f"conditions.{key}": f"{what} from {low:g} to {high:g}"}
        )
    return int(value) if whole else float(value)


def check_conditions(conditions: Any) -> dict[str, Any]:
    """The conditions, checked and tidied (lists de-duplicated). Errors name the field: `conditions.<key>`."""
    if not isinstance(conditions, dict):
        raise ValidationError("Conditions must be an object.", fields={"conditions": "must be a JSON object"})
    unknown = sorted(set(conditions) - set(CONDITION_KEYS))
    if unknown:
        raise ValidationError(
            "Unknown condition.",
            fields={f"conditions.{unknown[0]}": f"unknown condition; known: {', '.join(CONDITION_KEYS)}"},
        )
    if not conditions:
        raise ValidationError(
            "A rule needs at least one condition.",
            fields={"conditions": "give at least one condition (a rule for every answer would follow up promoters)"},
        )
    cleaned: dict[str, Any] = {}
    for key in CONDITION_KEYS:
        if key not in conditions:
            continue
        value = conditions[key]
        if key == "kinds":
            cleaned[key] = _known(key, _strings(key, value), SurveyKind.values)
        elif key == "surveys":
            values = _strings(key, value)
            known = list(Survey.objects.filter(key__in=values).values_list("key", flat=True))
            cleaned[key] = _known(key, values, known)
        elif key == "emotions":
            cleaned[key] = _known(key, [v.lower() for v in _strings(key, value)], EMOTIONS)
        elif key == "score_at_most":
            cleaned[key] = _number(key, value, 0, SCORE_MAX, whole=True)
        elif key == "sentiment_below":
            cleaned[key] = _number(key, value, -1, 1, whole=False)
        elif not isinstance(value, bool):
            raise ValidationError("Say true or false.", fields={"conditions.has_comment": "must be true or false"})
        else:
            cleaned[key] = value
    return cleaned


def _name(name: str, rule: LoopRule | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError("A rule needs a name.", fields={"name": "must not be empty"})
    if len(name) > NAME_MAX:
        raise ValidationError("The name is too long.", fields={"name": f"at most {NAME_MAX} characters"})
    taken = LoopRule.objects.filter(name=name)
    if rule is not None:
        taken = taken.exclude(pk=rule.pk)
    if taken.exists():
        raise ConflictError(f"A rule named {name!r} exists already.", fields={"name": "already exists"})
    return name


def _priority(value: str) -> str:
    if value not in Priority.values:
        raise ValidationError("Unknown priority.", fields={"priority": f"must be one of {', '.join(Priority.values)}"})
    return value


def _owner(owner: User | None) -> User | None:
    if owner is not None and not owner.is_active:
        raise ValidationError("That user is deactivated.", fields={"owner": "is not active"})
    return owner


# --- writes --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    """A rule as written. For an update, None leaves a field as it is; `clear_*` empties an optional reference."""

    name: str | None = None
    conditions: Any = None
    is_active: bool | None = None
    category: Category | None = None
    goal: Goal | None = None
    priority: str | None = None
    assign_to_agent: bool | None = None
    owner: User | None = None
    team: Team | None = None
    clear_category: bool = False
    clear_goal: bool = False
    clear_owner: bool = False
    clear_team: bool = False


def snapshot(rule: LoopRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "conditions": rule.conditions,
        "category": rule.category.key if rule.category is not None else None,
        "goal": rule.goal.key if rule.goal is not None else None,
        "priority": rule.priority,
        "assign_to_agent": rule.assign_to_agent,
        "owner": rule.owner.username if rule.owner is not None else None,
        "team": rule.team_id,
    }


def _audit(actor: Actor, action: str, rule_id: str, summary: str, **changes: Any) -> None:
    record_audit(actor, action, object_type="loop_rule", object_id=rule_id, summary=summary, **changes)


@transaction.atomic
def create_rule(actor: Actor, data: RuleInput) -> LoopRule:
    """Add a rule after the existing ones (reorder_rules or move_rule moves it)."""
    actor.require(Perm.FEEDBACK_MANAGE)
    last = LoopRule.objects.aggregate(last=Max("position"))["last"]
    rule = LoopRule(
        name=_name(data.name or ""),
        conditions=check_conditions(data.conditions if data.conditions is not None else {}),
        is_active=True if data.is_active is None else data.is_active,
        category=data.category,
        goal=data.goal,
        priority=_priority(data.priority or Priority.HIGH.value),
        assign_to_agent=True if data.assign_to_agent is None else data.assign_to_agent,
        owner=_owner(data.owner),
        team=data.team,
        position=(last or 0) + 1,
        created_by=actor.user,
    )
    rule.save()
    _audit(actor, "loop_rule.created", rule.public_id, f"Follow-up rule {rule.name}", after=snapshot(rule))
    return rule


def _apply(rule: LoopRule, data: RuleInput) -> None:
    if data.name is not None:
        rule.name = _name(data.name, rule)
    if data.conditions is not None:
        rule.conditions = check_conditions(data.conditions)
    if data.is_active is not None:
        rule.is_active = data.is_active
    if data.priority is not None:
        rule.priority = _priority(data.priority)
    if data.assign_to_agent is not None:
        rule.assign_to_agent = data.assign_to_agent
    for name in ("category", "goal", "owner", "team"):
        if getattr(data, f"clear_{name}"):
            setattr(rule, name, None)
        elif getattr(data, name) is not None:
            setattr(rule, name, _owner(data.owner) if name == "owner" else getattr(data, name))


@transaction.atomic
def update_rule(actor: Actor, rule: LoopRule, data: RuleInput) -> LoopRule:
    actor.require(Perm.FEEDBACK_MANAGE)
    current = LoopRule.objects.select_for_update().get(pk=rule.pk)
    before = snapshot(current)
    _apply(current, data)
    after = snapshot(current)
    if after != before:
        current.save()
        _audit(
            actor, "loop_rule.updated", current.public_id, f"Follow-up rule {current.name}", before=before, after=after
        )
    return current


@transaction.atomic
def delete_rule(actor: Actor, rule: LoopRule) -> None:
    """Delete a rule. Loops it opened stay (they forget the rule); switch a rule off to keep it for reference."""
    actor.require(Perm.FEEDBACK_MANAGE)
    before = snapshot(rule)
    public_id = rule.public_id
    rule.delete()
    _audit(actor, "loop_rule.deleted", public_id, f"Follow-up rule {before['name']}", before=before)


@transaction.atomic
def reorder_rules(actor: Actor, rule_ids: Sequence[str]) -> list[LoopRule]:
    """Put the rules in this order (every rule's public id, once): the first is tried first."""
    actor.require(Perm.FEEDBACK_MANAGE)
    rules = {r.public_id: r for r in LoopRule.objects.select_for_update()}
    if len(set(rule_ids)) != len(rule_ids) or set(rule_ids) != set(rules):
        missing = sorted(set(rules) - set(rule_ids))
        extra = sorted(set(rule_ids) - set(rules))
        reason = "list every rule once"
        if missing:
            reason += f"; missing {', '.join(missing)}"
        if extra:
            reason += f"; unknown {', '.join(extra)}"
        raise ValidationError("The order must name every rule once.", fields={"ids": reason})
    before = [r.public_id for r in sorted(rules.values(), key=lambda r: (r.position, r.pk))]
    ordered = [rules[public_id] for public_id in rule_ids]
    for position, rule in enumerate(ordered, start=1):
        rule.position = position
    LoopRule.objects.bulk_update(ordered, ["position"])
    if before != list(rule_ids):
        _audit(
            actor,
            "loop_rule.reordered",
            "",
            "Follow-up rules reordered",
            before={"order": before},
            after={"order": list(rule_ids)},
        )
    return ordered


def move_rule(actor: Actor, rule: LoopRule, offset: int) -> list[LoopRule]:
    """Move one rule up (offset -1) or down (+1), for the rules page's arrows."""
    order = list(LoopRule.objects.order_by("position", "id").values_list("public_id", flat=True))
    index = order.index(rule.public_id)
    target = max(0, min(len(order) - 1, index + offset))
    order.insert(target, order.pop(index))
    return reorder_rules(actor, order)
