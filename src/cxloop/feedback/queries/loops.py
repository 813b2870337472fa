"""Reads of the closed loop: the follow-ups (filtered, a cursor page at a time), one loop, the loop of a case,
the loop rules, and the measures of how well unhappy answers are followed up.

Everyone who may read feedback (feedback.view) sees every loop, as every case reader sees every case.

Measures, over the loops OPENED in a period:
- closed within X hours: the share of them that were closed (an outcome recorded) at most X hours after opening;
  a loop still open counts as not closed within X, however young it is, so a recent period reads low until its
  loops have had X hours (the page says so);
- median hours to first contact and to close, over those that were contacted or closed;
- outcomes by kind.
And now, whatever the period: open loops (open or contacted) by owner with the oldest, and by age.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q, QuerySet

from cxloop.accounts.models import User
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm
from cxloop.feedback.models import Loop, LoopOutcome, LoopRule, LoopState, Survey

ACTIVE_STATES = (LoopState.OPEN.value, LoopState.CONTACTED.value)
STATE_FILTERS = ("", "active", *LoopState.values)
# Ages the list filters by and the measures group open loops by: (key, label, lower bound in hours).
AGE_BUCKETS = (
    ("lt24", "under 24 hours", 0),
    ("24to48", "24–48 hours", 24),
    ("2to7d", "2–7 days", 48),
    ("gt7d", "over 7 days", 168),
)
WITHIN_HOURS_MAX = 24 * 90
PERIOD_DAYS_MAX = 366 * 2


def _loops(actor: Actor) -> QuerySet[Loop]:
    actor.require(Perm.FEEDBACK_VIEW)
    return Loop.objects.select_related("customer", "owner", "team", "rule", "response", "response__survey")


def get_loop(actor: Actor, public_id: str) -> Loop:
    found = _loops(actor).filter(public_id=public_id).first()
    if found is None:
        raise NotFoundError(f"No follow-up {public_id}.")
    return found


def find_loop_for_case(actor: Actor, case_public_id: str) -> Loop | None:
    """The follow-up a case serves, for the case page; None when it serves none or the actor may not read
    feedback (the case page then shows no panel)."""
    if not actor.can(Perm.FEEDBACK_VIEW) or not case_public_id:
        return None
    return _loops(actor).select_related("closed_by").filter(case_ref=case_public_id).first()


@dataclass(frozen=True)
class LoopFilters:
    state: str = "active"  # "", "active" (open or contacted), open, contacted, resolved
    owner: str = ""  # username; "-" for loops nobody owns
    rule: str = ""  # a loop rule's public id
    age: str = ""  # one of AGE_BUCKETS' keys: how long ago the loop opened
    customer: str = ""  # a customer's public id


def _check(filters: LoopFilters) -> None:
    errors: dict[str, str] = {}
    if filters.state not in STATE_FILTERS:
        errors["state"] = f"must be one of {', '.join(s or '(any)' for s in STATE_FILTERS)}"
    if filters.age and filters.age not in {key for key, _, _ in AGE_BUCKETS}:
        errors["age"] = f"must be one of {', '.join(key for key, _, _ in AGE_BUCKETS)}"
    if errors:
        raise ValidationError("Invalid filter.", fields=errors)


def _age_range(key: str, now: datetime) -> Q:
    bounds = [hours for _, _, hours in AGE_BUCKETS]
    index = [k for k, _, _ in AGE_BUCKETS].index(key)
    condition = Q(opened_at__lte=now - timedelta(hours=bounds[index]))
    if index + 1 < len(bounds):
        condition &= Q(opened_at__gt=now - timedelta(hours=bounds[index + 1]))
    return condition


def filtered_loops(actor: Actor, filters: LoopFilters, *, now: datetime | None = None) -> QuerySet[Loop]:
    _check(filters)
    qs = _loops(actor)
    if filters.state == "active":
        qs = qs.filter(state__in=ACTIVE_STATES)
    elif filters.state:
        qs = qs.filter(state=filters.state)
    if filters.owner == "-":
        qs = qs.filter(owner__isnull=True)
    elif filters.owner:
        qs = qs.filter(owner__username=filters.owner)
    if filters.rule:
        qs = qs.filter(rule__public_id=filters.rule)
    if filters.customer:
        qs = qs.filter(customer__public_id=filters.customer)
    if filters.age:
        qs = qs.filter(_age_range(filters.age, now or clock.now()))
    return qs


def list_loops(actor: Actor, filters: LoopFilters, *, cursor: str | None = None, limit: int = 25) -> Page[Loop]:
    """Follow-ups, oldest first among active ones (they need attention first), newest first otherwise."""
    ordering = (
        ("opened_at", "id") if filters.state in ACTIVE_STATES or filters.state == "active" else ("-opened_at", "-id")
    )
    return paginate(filtered_loops(actor, filters), ordering, cursor, limit)


def list_rules(actor: Actor) -> list[LoopRule]:
    actor.require(Perm.FEEDBACK_VIEW)
    return list(
        LoopRule.objects.select_related("category", "goal", "owner", "team", "survey").order_by("position", "id")
    )


def get_rule(actor: Actor, public_id: str) -> LoopRule:
    actor.require(Perm.FEEDBACK_VIEW)
    found = LoopRule.objects.select_related("category", "goal", "owner", "team").filter(public_id=public_id).first()
    if found is None:
        raise NotFoundError(f"No follow-up rule {public_id}.")
    return found


def survey_choices(actor: Actor) -> list[tuple[str, str]]:
    """(key, name) of every survey, for the rules form's "surveys" condition."""
    actor.require(Perm.FEEDBACK_VIEW)
    return [
        (key, f"{name} ({kind.upper()})")
        for key, name, kind in Survey.objects.order_by("name").values_list("key", "name", "kind")
    ]


def rule_choices(actor: Actor) -> list[tuple[str, str]]:
    """(public id, name) of every rule, for the list page's filter."""
    return [(r.public_id, r.name) for r in list_rules(actor)]


# --- measures ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerLoad:
    owner: User | None
    open: int
    contacted: int
    oldest_opened_at: datetime


@dataclass(frozen=True)
class LoopMetrics:
    since: datetime
    until: datetime
    within_hours: int
    opened: int
    closed: int
    closed_within: int
    closed_within_share: float | None  # None when no loop opened in the period
    median_hours_to_contact: float | None
    median_hours_to_close: float | None
    outcomes: dict[str, int]
    open_now: int
    open_by_owner: list[OwnerLoad] = field(default_factory=list)
    open_by_age: list[tuple[str, str, int]] = field(default_factory=list)  # (key, label, count)


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max((end - start).total_seconds(), 0) / 3600


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _check_period(since: datetime, until: datetime, within_hours: int) -> None:
    errors: dict[str, str] = {}
    if until <= since:
        errors["until"] = "must be after since"
    elif until - since > timedelta(days=PERIOD_DAYS_MAX):
        errors["since"] = f"the period may span at most {PERIOD_DAYS_MAX} days"
    if not 1 <= within_hours <= WITHIN_HOURS_MAX:
        errors["within_hours"] = f"a whole number of hours from 1 to {WITHIN_HOURS_MAX}"
    if errors:
        raise ValidationError("Invalid period.", fields=errors)


def _open_by_owner(active: QuerySet[Loop]) -> list[OwnerLoad]:
    rows = list(
        active.values("owner_id")
        .annotate(
            open=Count("id", filter=Q(state=LoopState.OPEN)),
            contacted=Count("id", filter=Q(state=LoopState.CONTACTED)),
            oldest=Min("opened_at"),
        )
        .order_by("oldest")
    )
    users = User.objects.in_bulk([r["owner_id"] for r in rows if r["owner_id"] is not None])
    return [OwnerLoad(users.get(r["owner_id"]), r["open"], r["contacted"], r["oldest"]) for r in rows]


def _open_by_age(active: QuerySet[Loop], now: datetime) -> list[tuple[str, str, int]]:
    counts = active.aggregate(**{key: Count("id", filter=_age_range(key, now)) for key, _, _ in AGE_BUCKETS})
    return [(key, label, counts[key]) for key, label, _ in AGE_BUCKETS]


def loop_metrics(
    actor: Actor,
    *,
    since: datetime,
    until: datetime,
    within_hours: int = 48,
    now: datetime | None = None,
) -> LoopMetrics:
    """The closed-loop measures for loops opened in [since, until), and the open loops now."""
    actor.require(Perm.FEEDBACK_VIEW)
    _check_period(since, until, within_hours)
    now = now or clock.now()
    rows = list(
        Loop.objects.filter(opened_at__gte=since, opened_at__lt=until).values_list(
            "opened_at", "contacted_at", "closed_at", "outcome"
        )
    )
    to_contact = [h for opened, contacted, _, _ in rows if (h := _hours(opened, contacted)) is not None]
    to_close = [h for opened, _, closed, _ in rows if (h := _hours(opened, closed)) is not None]
    closed_within = sum(1 for h in to_close if h <= within_hours)
    outcomes = Counter(outcome for _, _, closed, outcome in rows if closed is not None and outcome)
    active = Loop.objects.filter(state__in=ACTIVE_STATES)
    return LoopMetrics(
        since=since,
        until=until,
        within_hours=within_hours,
        opened=len(rows),
        closed=len(to_close),
        closed_within=closed_within,
        closed_within_share=round(closed_within / len(rows), 4) if rows else None,
        median_hours_to_contact=_median(to_contact),
        median_hours_to_close=_median(to_close),
        outcomes={value: outcomes.get(value, 0) for value in LoopOutcome.values},
        open_now=active.count(),
        open_by_owner=_open_by_owner(active),
        open_by_age=_open_by_age(active, now),
    )
