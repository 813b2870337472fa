"""A rule's conditions: the journey condition language (journeys.elements), checked and evaluated with reasons.

Rules reuse the journeys' language so an author learns one: `{"all": [...]}`, `{"any": [...]}`, `{"not": ...}`,
a comparison `{"field": "event.properties.total", "operator": "gte", "value": 100}` and past behaviour
`{"has_event": "purchase.completed", "within": "30 days"}`. The shape is checked against the condition part of the
journey JSON Schema that ships with cxloop, so the two cannot drift; the errors name the path inside the rule
("conditions.all[1].operator").

Evaluation returns the answer and one line per comparison, which the run log shows, so "why did my rule not
fire?" is answered by reading the run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import jsonschema_rs

from cxloop.core import clock
from cxloop.journeys.documents import build_condition, journey_schema
from cxloop.journeys.elements import AllOf, AnyOf, Comparison, Condition, HasEvent, Not

ROOT = "conditions"
PROFILE_FIELDS = ("name", "country", "locale", "time_zone", "lifecycle_stage", "status", "created_at")
_MAX_DEPTH = 32
_MISSING = object()


@dataclass
class EventFacts:
    """What a condition may read: the customer and the triggering event."""

    type: str
    at: datetime | None
    properties: Mapping[str, Any]
    customer_pk: int | None = None
    profile: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    holds: bool
    reasons: list[str]


# --------------------------------------------------------------------------- checking


@cache
def _validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(_schema())


@cache
def _schema() -> dict[str, Any]:
    return {"$defs": journey_schema()["$defs"], "$ref": "#/$defs/condition"}


def _join(path: str, part: str | int) -> str:
    return f"{path}[{part}]" if isinstance(part, int) else f"{path}.{part}"


def _schema_node(schema_path: list[str | int]) -> dict[str, Any]:
    node: Any = _schema()
    for part in schema_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return {}
    return node if isinstance(node, dict) else {}


def _describe(error: jsonschema_rs.ValidationError, root: str) -> tuple[str, str]:
    path = root
    for part in error.instance_path:
        path = _join(path, part)
    keyword = error.schema_path[-1] if error.schema_path else ""
    details = error.kind.as_dict()
    if keyword == "required":
        return _join(path, str(details["property"])), "required"
    if keyword == "additionalProperties":
        return path, "unknown field(s): " + ", ".join(str(n) for n in details.get("unexpected", []))
    if keyword == "enum":
        return path, "must be one of: " + ", ".join(str(o) for o in details.get("options", []))
    message = _schema_node(list(error.schema_path[:-1])).get("errorMessage")
    if keyword in {"oneOf", "anyOf", "not", "pattern", "type"} and isinstance(message, str):
        return path, message
    return path, error.message


def _depth(data: Any, level: int = 0) -> int:
    if level > _MAX_DEPTH:
        return level
    if isinstance(data, dict):
        return max([_depth(v, level + 1) for v in data.values()] or [level])
    if isinstance(data, list):
        return max([_depth(v, level + 1) for v in data] or [level])
    return level


def check_conditions(data: Any, root: str = ROOT) -> dict[str, str]:
    """The problems of a conditions value, by path; empty when it is valid. None means "always"."""
    if data is None:
        return {}
    if _depth(data) > _MAX_DEPTH:
        return {root: f"nested more than {_MAX_DEPTH} levels deep"}
    problems: dict[str, str] = {}
    for error in _validator().iter_errors(data):
        path, reason = _describe(error, root)
        if path in problems and reason not in problems[path]:
            problems[path] = f"{problems[path]}; {reason}"
        else:
            problems.setdefault(path, reason)
    # The journey schema lets a number through as a value; NaN and infinities are not JSON.
    if not problems and _has_non_finite(data):
        problems[root] = "numbers must be finite"
    return problems


def _has_non_finite(data: Any) -> bool:
    if isinstance(data, float):
        return not math.isfinite(data)
    if isinstance(data, dict):
        return any(_has_non_finite(v) for v in data.values())
    if isinstance(data, list):
        return any(_has_non_finite(v) for v in data)
    return False


def parse(data: Mapping[str, Any] | None) -> Condition | None:
    """Checked data (see check_conditions) as the journeys' typed condition."""
    return build_condition(data) if data else None


# --------------------------------------------------------------------------- evaluating


def _lookup(facts: EventFacts, name: str) -> Any:
    if name == "tags":
        return list(facts.tags)
    if name == "event.type":
        return facts.type
    if name == "event.at":
        return facts.at.isoformat() if facts.at is not None else _MISSING
    if name.startswith("profile."):
        return facts.profile.get(name.removeprefix("profile."), _MISSING)
    if name.startswith("attributes."):
        return facts.attributes.get(name.removeprefix("attributes."), _MISSING)
    if name.startswith("event.properties."):
        value: Any = facts.properties
        for part in name.removeprefix("event.properties.").split("."):
            if not isinstance(value, Mapping) or part not in value:
                return _MISSING
            value = value[part]
        return value
    return _MISSING


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _equal(left: Any, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return bool(left == right)


def _ordered(left: Any, operator: str, right: Any) -> bool:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return _order(a, operator, b)
    if isinstance(left, str) and isinstance(right, str):
        return _order(left, operator, right)  # ISO 8601 times and dates compare as text
    return False


def _order(x: Any, operator: str, y: Any) -> bool:
    if operator == "lt":
        return bool(x < y)
    if operator == "lte":
        return bool(x <= y)
    if operator == "gt":
        return bool(x > y)
    return bool(x >= y)


def _compare(value: Any, operator: str, expected: Any) -> bool:
    present = value is not _MISSING and value is not None and value != "" and value != []
    if operator == "exists":
        return present is (expected is not False)
    if operator == "ne":
        return not present or not _compare(value, "eq", expected)
    if not present:
        return False
    if operator == "eq":
        return any(_equal(v, expected) for v in value) if isinstance(value, list) else _equal(value, expected)
    if operator == "in":
        options = expected if isinstance(expected, list) else [expected]
        values = value if isinstance(value, list) else [value]
        return any(_equal(v, o) for v in values for o in options)
    if operator == "contains":
        if isinstance(value, list):
            return any(_equal(v, expected) for v in value)
        if isinstance(value, str) and isinstance(expected, str):
            return expected.casefold() in value.casefold()
        return False
    return _ordered(value, operator, expected)


def _shown(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _count_events(facts: EventFacts, condition: HasEvent) -> int:
    """How many events of the type the customer had (in the window), checking `where` on each one's facts."""
    from cxloop.events.models import Event  # read-only; the events module owns the table

    if facts.customer_pk is None:
        return 0
    rows = Event.objects.filter(customer_id=facts.customer_pk, event_type__key=condition.event_type)
    if condition.within is not None:
        rows = rows.filter(occurred_at__gte=clock.now() - condition.within)
    if condition.where is None:
        return rows.count()
    count = 0
    for occurred_at, properties in rows.order_by("-occurred_at").values_list("occurred_at", "properties")[:10_000]:
        other = EventFacts(
            type=condition.event_type,
            at=occurred_at,
            properties=properties or {},
            customer_pk=facts.customer_pk,
            profile=facts.profile,
            attributes=facts.attributes,
            tags=facts.tags,
        )
        if _evaluate(condition.where, other, []):
            count += 1
            if count >= condition.min_count:
                break
    return count


def _within(within: timedelta | None) -> str:
    if within is None:
        return ""
    days, seconds = within.days, within.seconds
    return f" in the last {days} days" if not seconds else f" in the last {int(within.total_seconds() // 60)} minutes"


def _evaluate(condition: Condition, facts: EventFacts, reasons: list[str]) -> bool:
    if isinstance(condition, AllOf):
        return all(_evaluate(c, facts, reasons) for c in condition.conditions)
    if isinstance(condition, AnyOf):
        return any(_evaluate(c, facts, reasons) for c in condition.conditions)
    if isinstance(condition, Not):
        inner: list[str] = []
        result = not _evaluate(condition.condition, facts, inner)
        reasons.extend(f"not ({r})" for r in inner)
        return result
    if isinstance(condition, HasEvent):
        count = _count_events(facts, condition)
        held = count >= condition.min_count
        reasons.append(
            f"has_event {condition.event_type}{_within(condition.within)}"
            f"{' (where …)' if condition.where else ''}: {count} found, {condition.min_count} needed → {held}"
        )
        return held
    assert isinstance(condition, Comparison)
    value = _lookup(facts, condition.field)
    held = _compare(value, condition.operator, condition.value)
    expected = "" if condition.operator == "exists" and condition.value is None else f" {_shown(condition.value)}"
    reasons.append(f"{condition.field} ({_shown(value)}) {condition.operator}{expected} → {held}")
    return held


def evaluate(condition: Condition | None, facts: EventFacts) -> Verdict:
    """Whether `condition` holds for `facts`, with one line per comparison tried (all/any stop early)."""
    if condition is None:
        return Verdict(True, ["no conditions → true"])
    reasons: list[str] = []
    return Verdict(_evaluate(condition, facts, reasons), reasons)


# --------------------------------------------------------------------------- reading aloud


def describe(condition: Condition | None, depth: int = 0) -> list[str]:
    """The condition as indented lines of text, for the editor's preview and the rule list."""
    pad = "  " * depth
    if condition is None:
        return [f"{pad}always"]
    if isinstance(condition, AllOf | AnyOf):
        word = "all of" if isinstance(condition, AllOf) else "any of"
        lines = [f"{pad}{word}:"]
        for inner in condition.conditions:
            lines += describe(inner, depth + 1)
        return lines
    if isinstance(condition, Not):
        return [f"{pad}not:", *describe(condition.condition, depth + 1)]
    if isinstance(condition, HasEvent):
        at_least = f"at least {condition.min_count} " if condition.min_count > 1 else ""
        lines = [f"{pad}had {at_least}{condition.event_type} event(s){_within(condition.within)}"]
        if condition.where is not None:
            lines += [f"{pad}  where:", *describe(condition.where, depth + 2)]
        return lines
    value = "" if condition.operator == "exists" and condition.value is None else f" {_shown(condition.value)}"
    return [f"{pad}{condition.field} {condition.operator}{value}"]
