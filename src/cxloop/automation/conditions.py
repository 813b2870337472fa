"""A rule's conditions: the journey condition language (journeys.elements), checked and evaluated with reasons.

Rules reuse the journeys' language so an author learns one: `{"all": [...]}`, `{"any": [...]}`, `{"not": ...}`,
a comparison `{"field": "event.properties.total", "operator": "gte", "value": 100}` and past behaviour
`{"has_event": "purchase.completed", "within": "30 days"}`. The shape is checked against the condition part of the
journey JSON Schema that ships with cxloop, and evaluated by the journeys' evaluator (journeys.conditions), so the
two cannot drift; the errors name the path inside the rule ("conditions.all[1].operator").

Evaluation returns the answer and one line per comparison, which the run log shows, so "why did my rule not
fire?" is answered by reading the run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import jsonschema_rs

from cxloop.core import clock
from cxloop.journeys import conditions as journey_conditions
from cxloop.journeys.conditions import EventFacts, Facts
from cxloop.journeys.documents import build_condition, journey_schema
from cxloop.journeys.elements import AllOf, AnyOf, Condition, HasEvent, Not

ROOT = "conditions"
_MAX_DEPTH = 32


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


def facts_of(customer: Any, event_type: str, at: datetime | None, properties: Mapping[str, Any], ref: str) -> Facts:
    """What a rule's conditions read: the customer (profile, attributes, tags) and the triggering event."""
    event = EventFacts(type=event_type, at=at, properties=properties, event_id=ref)
    return journey_conditions.facts_for(customer, now=clock.now(), event=event)


def evaluate(condition: Condition | None, facts: Facts) -> Verdict:
    """Whether `condition` holds (the journeys' evaluator: one language, one meaning), with one line of text per
    comparison tried (all/any stop early) for the run log."""
    if condition is None:
        return Verdict(True, ["no conditions → true"])
    verdict = journey_conditions.evaluate(condition, facts)
    return Verdict(verdict.holds, [line for check in verdict.checks for line in _lines(check)])


def _literal(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _shown(value: Any) -> str:
    """A value read: the journeys' evaluator reports a missing field (or a null) as None."""
    return "missing" if value is None else _literal(value)


def _lines(check: dict[str, Any]) -> list[str]:
    """One journeys check as the run log's lines: "event.properties.total (100) gte 500 → False"."""
    if "not" in check:
        return [f"not ({line})" for inner in check["not"] for line in _lines(inner)]
    if "has_event" in check:
        within = f" in the last {check['within']}" if check.get("within") else ""
        where = " (where …)" if check.get("where") else ""
        return [
            f"has_event {check['has_event']}{within}{where}: {check['found']} found, {check['min_count']} needed"
            f" → {check['result']}"
        ]
    expected = f" {_literal(check['expected'])}" if "expected" in check else ""
    return [f"{check['field']} ({_shown(check.get('value'))}) {check['operator']}{expected} → {check['result']}"]


def _within(within: timedelta | None) -> str:
    if within is None:
        return ""
    days, seconds = within.days, within.seconds
    return f" in the last {days} days" if not seconds else f" in the last {int(within.total_seconds() // 60)} minutes"


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
    value = "" if condition.operator == "exists" and condition.value is None else f" {_literal(condition.value)}"
    return [f"{pad}{condition.field} {condition.operator}{value}"]
