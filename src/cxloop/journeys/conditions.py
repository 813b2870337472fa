"""Evaluating the journey condition language against what is known of a customer, with the values read.

A branch's history row has to answer "why did they go this way?", so evaluation returns the result AND one
entry per comparison tried: the field, the value it read, the operator, the expected value and the outcome.
`all`/`any` stop early, as a reader expects, so the explanation lists only what was actually checked.

Everything is pure but `has_event`, which counts the customer's past events through an EventSource: the
database (`DatabaseEvents`, read-only on the events module's table) for the runtime, the database plus
imagined events for the dry run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from cxloop.journeys.elements import AllOf, AnyOf, Condition, HasEvent, Not

PROFILE_FIELDS = ("name", "country", "locale", "time_zone", "lifecycle_stage", "status", "created_at")
_MISSING: Any = object()
_SHOWN_MAX = 200


@dataclass(frozen=True)
class EventFacts:
    """One event as conditions read it (`event.type`, `event.at`, `event.properties.*`)."""

    type: str
    at: datetime | None
    properties: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = ""

    def as_context(self) -> dict[str, Any]:
        """The form kept in Enrolment.context (JSON)."""
        return {
            "type": self.type,
            "at": self.at.isoformat() if self.at is not None else None,
            "properties": dict(self.properties),
            "event_id": self.event_id,
        }

    @classmethod
    def from_context(cls, data: Mapping[str, Any] | None) -> EventFacts | None:
        if not data or not data.get("type"):
            return None
        at = data.get("at")
        return cls(
            type=str(data["type"]),
            at=datetime.fromisoformat(at) if isinstance(at, str) else None,
            properties=data.get("properties") or {},
            event_id=str(data.get("event_id") or ""),
        )


@dataclass(frozen=True)
class Facts:
    """What a condition may read about one customer at one moment."""

    now: datetime
    customer_pk: int | None = None
    profile: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()
    event: EventFacts | None = None

    def with_event(self, event: EventFacts | None) -> Facts:
        return Facts(self.now, self.customer_pk, self.profile, self.attributes, self.tags, event)


# `has_event: activity` (and a wait for `activity`) reads any customer event or inbound interaction: the customer
# wrote, called or did something, as the win-back example asks.
ACTIVITY = "activity"


class EventSource(Protocol):
    def events(self, customer_pk: int | None, event_type: str, since: datetime | None) -> Sequence[EventFacts]: ...

    def count(self, customer_pk: int | None, event_type: str, since: datetime | None) -> int: ...


class DatabaseEvents:
    """The customer's stored events (read-only: the events module owns the table)."""

    LIMIT = 10_000

    def _rows(self, customer_pk: int, event_type: str, since: datetime | None) -> Any:
        from cxloop.events.models import Event

        rows = Event.objects.filter(customer_id=customer_pk)
        rows = rows.filter(event_type__key=event_type) if event_type else rows
        return rows.filter(occurred_at__gte=since) if since is not None else rows

    def _inbound(self, customer_pk: int, since: datetime | None) -> Any:
        from cxloop.interactions.models import Interaction

        rows = Interaction.objects.filter(customer_id=customer_pk, direction="inbound").exclude(
            metadata__has_key="kind",
            metadata__kind__in=("auto_reply", "bounce"),  # a missing key reads as NULL
        )
        return rows.filter(occurred_at__gte=since) if since is not None else rows

    def count(self, customer_pk: int | None, event_type: str, since: datetime | None) -> int:
        if customer_pk is None:
            return 0
        if event_type == ACTIVITY:
            return int(self._rows(customer_pk, "", since).count()) + int(self._inbound(customer_pk, since).count())
        return int(self._rows(customer_pk, event_type, since).count())

    def events(self, customer_pk: int | None, event_type: str, since: datetime | None) -> Sequence[EventFacts]:
        if customer_pk is None:
            return []
        if event_type == ACTIVITY:
            rows = self._inbound(customer_pk, since).order_by("-occurred_at")
            inbound = [
                EventFacts(ACTIVITY, at, {"channel": channel}, public_id)
                for public_id, at, channel in rows.values_list("public_id", "occurred_at", "channel")[: self.LIMIT]
            ]
            stored = self._rows(customer_pk, "", since).order_by("-occurred_at")
            return inbound + [
                EventFacts(ACTIVITY, at, properties or {}, event_id)
                for event_id, at, properties in stored.values_list("event_id", "occurred_at", "properties")[
                    : self.LIMIT
                ]
            ]
        rows = self._rows(customer_pk, event_type, since).order_by("-occurred_at")
        return [
            EventFacts(event_type, at, properties or {}, event_id)
            for event_id, at, properties in rows.values_list("event_id", "occurred_at", "properties")[: self.LIMIT]
        ]


@dataclass
class Verdict:
    """The answer and the comparisons tried on the way (JSON-ready, for the history)."""

    holds: bool
    checks: list[dict[str, Any]]


def evaluate(condition: Condition | None, facts: Facts, source: EventSource | None = None) -> Verdict:
    """Whether `condition` holds for `facts` (None always holds), with what was read to decide."""
    if condition is None:
        return Verdict(True, [])
    checks: list[dict[str, Any]] = []
    holds = _evaluate(condition, facts, source or DatabaseEvents(), checks)
    return Verdict(holds, checks)


def facts_for(customer: Any, *, now: datetime, event: EventFacts | None = None) -> Facts:
    """The facts of a customer row (a customers.Customer; tags read once)."""
    profile = {name: getattr(customer, name, None) for name in PROFILE_FIELDS}
    created = profile.get("created_at")
    if isinstance(created, datetime):
        profile["created_at"] = created.isoformat()
    tags = sorted(customer.tags.values_list("name", flat=True)) if customer.pk is not None else []
    return Facts(now, customer.pk, profile, dict(customer.attributes or {}), tags, event)


def event_types_named(condition: Condition | None) -> set[str]:
    """The event types a condition mentions (has_event, or `event.type` compared with eq/in); "*" when it reads
    an event's time or properties without naming its type (any event might change its answer)."""
    names: set[str] = set()
    _collect(condition, names)
    return names


def _collect(condition: Condition | None, names: set[str]) -> None:
    if condition is None:
        return
    if isinstance(condition, AllOf | AnyOf):
        for inner in condition.conditions:
            _collect(inner, names)
    elif isinstance(condition, Not):
        _collect(condition.condition, names)
    elif isinstance(condition, HasEvent):
        names.add(condition.event_type)
    elif condition.field == "event.type" and condition.operator in {"eq", "in"}:
        values = condition.value if isinstance(condition.value, list) else [condition.value]
        names.update(str(v) for v in values)
    elif condition.field.startswith("event."):
        names.add("*")


# --------------------------------------------------------------------------- evaluation


def _evaluate(condition: Condition, facts: Facts, source: EventSource, checks: list[dict[str, Any]]) -> bool:
    if isinstance(condition, AllOf):
        return all(_evaluate(c, facts, source, checks) for c in condition.conditions)
    if isinstance(condition, AnyOf):
        return any(_evaluate(c, facts, source, checks) for c in condition.conditions)
    if isinstance(condition, Not):
        inner: list[dict[str, Any]] = []
        holds = not _evaluate(condition.condition, facts, source, inner)
        checks.append({"not": inner, "result": holds})
        return holds
    if isinstance(condition, HasEvent):
        return _has_event(condition, facts, source, checks)
    value = lookup(facts, condition.field)
    holds = compare(value, condition.operator, condition.value)
    check: dict[str, Any] = {"field": condition.field, "operator": condition.operator}
    if not (condition.operator == "exists" and condition.value is None):
        check["expected"] = condition.value
    check["value"] = _shown(value)
    check["result"] = holds
    checks.append(check)
    return holds


def _has_event(condition: HasEvent, facts: Facts, source: EventSource, checks: list[dict[str, Any]]) -> bool:
    since = facts.now - condition.within if condition.within is not None else None
    if condition.where is None:
        found = source.count(facts.customer_pk, condition.event_type, since)
    else:
        found = 0
        for event in source.events(facts.customer_pk, condition.event_type, since):
            if _evaluate(condition.where, facts.with_event(event), source, []):
                found += 1
                if found >= condition.min_count:
                    break
    holds = found >= condition.min_count
    check: dict[str, Any] = {"has_event": condition.event_type}
    if condition.within is not None:
        check["within"] = _duration_text(condition.within)
    if condition.where is not None:
        check["where"] = True
    check.update({"found": found, "min_count": condition.min_count, "result": holds})
    checks.append(check)
    return holds


def lookup(facts: Facts, name: str) -> Any:
    """The value a field names, or _MISSING (shown as null with "missing": true)."""
    if name == "tags":
        return list(facts.tags)
    if name.startswith("profile."):
        return facts.profile.get(name.removeprefix("profile."), _MISSING)
    if name.startswith("attributes."):
        return facts.attributes.get(name.removeprefix("attributes."), _MISSING)
    event = facts.event
    if event is None:
        return _MISSING
    if name == "event.type":
        return event.type
    if name == "event.at":
        return event.at.isoformat() if event.at is not None else _MISSING
    value: Any = event.properties
    for part in name.removeprefix("event.properties.").split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


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
    x: Any = a
    y: Any = b
    if a is None or b is None:
        if not (isinstance(left, str) and isinstance(right, str)):
            return False
        x, y = left, right  # ISO 8601 dates and times compare in order as text
    return bool({"lt": x < y, "lte": x <= y, "gt": x > y, "gte": x >= y}[operator])


def compare(value: Any, operator: str, expected: Any) -> bool:
    present = value is not _MISSING and value is not None and value != "" and value != []
    if operator == "exists":
        return present is (expected is not False)
    if operator == "ne":
        return not present or not compare(value, "eq", expected)
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


def _shown(value: Any) -> Any:
    """The value read, as JSON for the history (long text cut; a missing field is null)."""
    if value is _MISSING:
        return None
    if isinstance(value, str) and len(value) > _SHOWN_MAX:
        return value[: _SHOWN_MAX - 1] + "…"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _duration_text(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            amount = seconds // size
            return f"{amount} {unit}{'s' if amount != 1 else ''}"
    return f"{seconds} seconds"
