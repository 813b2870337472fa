"""What admins configure for SLAs: business calendars (weekly hours, time zone, holidays), which calendar each
team counts in, and the policies (conditions and targets).

Every change is audited (CASES_CONFIGURE). Changes apply to clocks started or re-targeted from then on:
running clocks keep the due times they were given, so a calendar edit never silently moves a promise of
service already shown to staff.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from cxloop.accounts.models import Team
from cxloop.cases.business_time import CalendarError, CalendarSpec, format_week
from cxloop.cases.models import BusinessCalendar, Category, Holiday, Priority, SlaPolicy, TeamCalendar
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.privacy.services import record_audit

NAME_MAX = 100
TARGET_MAX_MINUTES = 365 * 24 * 60
TIERS_MAX = 20


def _name(value: str, field: str = "name") -> str:
    value = " ".join(value.split())
    if not value:
        raise ValidationError(f"The {field} must not be empty.", fields={field: "must not be empty"})
    if len(value) > NAME_MAX:
        raise ValidationError(f"The {field} is too long.", fields={field: f"at most {NAME_MAX} characters"})
    return value


def _taken(same_name: QuerySet[Any], exclude: int | None) -> bool:
    if exclude is not None:
        same_name = same_name.exclude(pk=exclude)
    return same_name.exists()


def _audit(actor: Actor, action: str, object_type: str, object_id: object, summary: str, **data: Any) -> None:
    record_audit(
        actor,
        action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary,
        before=data.get("before"),
        after=data.get("after"),
    )


# --- calendars ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarInput:
    name: str
    time_zone: str = "UTC"
    hours: dict[str, list[list[str]]] = dataclasses.field(default_factory=dict)
    is_always_open: bool = False
    is_default: bool = False


def calendar_input_of(calendar: BusinessCalendar) -> CalendarInput:
    """A calendar as input, for partial updates: replace the fields that change."""
    return CalendarInput(
        name=calendar.name,
        time_zone=calendar.time_zone,
        hours=calendar.hours,
        is_always_open=calendar.is_always_open,
        is_default=calendar.is_default,
    )


def _checked_calendar(data: CalendarInput, exclude: int | None = None) -> CalendarInput:
    name = _name(data.name)
    if _taken(BusinessCalendar.objects.filter(name__iexact=name), exclude):
        raise ConflictError("A calendar with that name exists.", fields={"name": "already taken"})
    try:
        spec = CalendarSpec.from_hours(data.time_zone, data.hours, always_open=data.is_always_open)
    except CalendarError as exc:
        raise ValidationError(f"Invalid calendar: {exc}", fields={exc.field: exc.reason}) from exc
    if not spec.has_open_time:
        raise ValidationError(
            "A calendar needs opening hours (or mark it always open).", fields={"hours": "no open time in the week"}
        )
    return dataclasses.replace(data, name=name, hours=format_week(spec.week))


def _calendar_snapshot(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "hours": calendar.hours,
        "is_always_open": calendar.is_always_open,
        "is_default": calendar.is_default,
    }


def _only_default(calendar: BusinessCalendar) -> None:
    if calendar.is_default:
        BusinessCalendar.objects.filter(is_default=True).exclude(pk=calendar.pk).update(is_default=False)


@transaction.atomic
def create_calendar(actor: Actor, data: CalendarInput) -> BusinessCalendar:
    """A new calendar. Marking it default takes that role from the previous default (there is one at most)."""
    actor.require(Perm.CASES_CONFIGURE)
    data = _checked_calendar(data)
    calendar = BusinessCalendar.objects.create(
        name=data.name,
        time_zone=data.time_zone,
        hours=data.hours,
        is_always_open=data.is_always_open,
        is_default=data.is_default,
    )
    _only_default(calendar)
    _audit(actor, "sla.calendar_created", "calendar", calendar.pk, calendar.name, after=_calendar_snapshot(calendar))
    return calendar


@transaction.atomic
def update_calendar(actor: Actor, calendar: BusinessCalendar, data: CalendarInput) -> BusinessCalendar:
    actor.require(Perm.CASES_CONFIGURE)
    data = _checked_calendar(data, exclude=calendar.pk)
    before = _calendar_snapshot(calendar)
    calendar.name, calendar.time_zone, calendar.hours = data.name, data.time_zone, data.hours
    calendar.is_always_open, calendar.is_default = data.is_always_open, data.is_default
    calendar.save()
    _only_default(calendar)
    _audit(
        actor,
        "sla.calendar_updated",
        "calendar",
        calendar.pk,
        calendar.name,
        before=before,
        after=_calendar_snapshot(calendar),
    )
    return calendar


@transaction.atomic
def delete_calendar(actor: Actor, calendar: BusinessCalendar) -> None:
    """Teams that used it fall back to the default calendar (or always open)."""
    actor.require(Perm.CASES_CONFIGURE)
    _audit(actor, "sla.calendar_deleted", "calendar", calendar.pk, calendar.name, before=_calendar_snapshot(calendar))
    calendar.delete()


@transaction.atomic
def add_holiday(actor: Actor, calendar: BusinessCalendar, *, day: date, name: str) -> Holiday:
    actor.require(Perm.CASES_CONFIGURE)
    name = _name(name)
    if Holiday.objects.filter(calendar=calendar, date=day).exists():
        raise ConflictError("That day is already a holiday in this calendar.", fields={"date": "already a holiday"})
    holiday = Holiday.objects.create(calendar=calendar, date=day, name=name)
    _audit(
        actor,
        "sla.holiday_added",
        "calendar",
        calendar.pk,
        f"{calendar.name}: {day.isoformat()} {name}",
        after={"date": day.isoformat(), "name": name},
    )
    return holiday


@transaction.atomic
def remove_holiday(actor: Actor, holiday: Holiday) -> None:
    actor.require(Perm.CASES_CONFIGURE)
    _audit(
        actor,
        "sla.holiday_removed",
        "calendar",
        holiday.calendar_id,
        f"{holiday.date.isoformat()} {holiday.name}",
        before={"date": holiday.date.isoformat(), "name": holiday.name},
    )
    holiday.delete()


@transaction.atomic
def set_team_calendar(actor: Actor, team: Team, calendar: BusinessCalendar | None) -> TeamCalendar | None:
    """Count the team's SLAs in `calendar`; None: back to the default calendar."""
    actor.require(Perm.CASES_CONFIGURE)
    current = TeamCalendar.objects.filter(team=team).first()
    before = {"calendar": current.calendar_id if current else None}
    result: TeamCalendar | None
    if calendar is None:
        TeamCalendar.objects.filter(team=team).delete()
        result = None
    else:
        result, _ = TeamCalendar.objects.update_or_create(team=team, defaults={"calendar": calendar})
    _audit(
        actor,
        "sla.team_calendar_set",
        "team",
        team.pk,
        f"{team.name} → {calendar.name if calendar else 'default'}",
        before=before,
        after={"calendar": calendar.pk if calendar else None},
    )
    return result


# --- policies ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyInput:
    """Targets in business minutes (None: no target for that metric); empty conditions match any case."""

    name: str
    position: int = 0
    is_active: bool = True
    priorities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # category keys
    customer_tiers: tuple[str, ...] = ()
    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    warn_before_minutes: int = 30


def policy_input_of(policy: SlaPolicy) -> PolicyInput:
    """A policy as input, for partial updates: replace the fields that change."""
    return PolicyInput(
        name=policy.name,
        position=policy.position,
        is_active=policy.is_active,
        priorities=tuple(policy.priorities),
        categories=tuple(c.key for c in policy.categories.all()),
        customer_tiers=tuple(policy.customer_tiers),
        first_response_minutes=policy.first_response_minutes,
        next_response_minutes=policy.next_response_minutes,
        resolution_minutes=policy.resolution_minutes,
        warn_before_minutes=policy.warn_before_minutes,
    )


def _checked_policy(data: PolicyInput, exclude: int | None = None) -> tuple[PolicyInput, list[Category]]:
    errors: dict[str, str] = {}
    name = _name(data.name)
    if _taken(SlaPolicy.objects.filter(name__iexact=name), exclude):
        raise ConflictError("A policy with that name exists.", fields={"name": "already taken"})
    if not 0 <= data.position <= 32767:
        errors["position"] = "between 0 and 32767"
    unknown = [p for p in data.priorities if p not in Priority.values]
    if unknown:
        errors["priorities"] = f"unknown {unknown[0]!r}; one of {', '.join(Priority.values)}"
    categories = list(Category.objects.filter(key__in=data.categories))
    missing = sorted(set(data.categories) - {c.key for c in categories})
    if missing:
        errors["categories"] = f"no category {missing[0]!r}"
    tiers = _tiers(data.customer_tiers, errors)
    targets = ("first_response_minutes", "next_response_minutes", "resolution_minutes")
    for field in targets:
        value = getattr(data, field)
        if value is not None and not 1 <= value <= TARGET_MAX_MINUTES:
            errors[field] = f"between 1 and {TARGET_MAX_MINUTES} minutes"
    if all(getattr(data, f) is None for f in targets):
        errors["first_response_minutes"] = "set at least one target"
    if not 0 <= data.warn_before_minutes <= TARGET_MAX_MINUTES:
        errors["warn_before_minutes"] = f"between 0 and {TARGET_MAX_MINUTES} minutes"
    if errors:
        raise ValidationError("Invalid SLA policy.", fields=errors)
    priorities = tuple(dict.fromkeys(data.priorities))
    return dataclasses.replace(data, name=name, priorities=priorities, customer_tiers=tiers), categories


def _tiers(values: Sequence[str], errors: dict[str, str]) -> tuple[str, ...]:
    tiers = tuple(dict.fromkeys(" ".join(str(t).split()).lower() for t in values if str(t).strip()))
    if len(tiers) > TIERS_MAX or any(len(t) > 50 for t in tiers):
        errors["customer_tiers"] = f"at most {TIERS_MAX} tiers of 50 characters"
    return tiers


def _policy_snapshot(policy: SlaPolicy) -> dict[str, Any]:
    data = dataclasses.asdict(policy_input_of(policy))
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def _apply(policy: SlaPolicy, data: PolicyInput) -> None:
    for field in (
        "name",
        "position",
        "is_active",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "warn_before_minutes",
    ):
        setattr(policy, field, getattr(data, field))
    policy.priorities, policy.customer_tiers = list(data.priorities), list(data.customer_tiers)


@transaction.atomic
def create_policy(actor: Actor, data: PolicyInput) -> SlaPolicy:
    actor.require(Perm.CASES_CONFIGURE)
    data, categories = _checked_policy(data)
    policy = SlaPolicy()
    _apply(policy, data)
    policy.save()
    policy.categories.set(categories)
    _audit(actor, "sla.policy_created", "sla_policy", policy.pk, policy.name, after=_policy_snapshot(policy))
    return policy


@transaction.atomic
def update_policy(actor: Actor, policy: SlaPolicy, data: PolicyInput) -> SlaPolicy:
    """Change a policy. Cases already under it keep their clocks until something re-evaluates them."""
    actor.require(Perm.CASES_CONFIGURE)
    data, categories = _checked_policy(data, exclude=policy.pk)
    before = _policy_snapshot(policy)
    _apply(policy, data)
    policy.save()
    policy.categories.set(categories)
    _audit(
        actor, "sla.policy_updated", "sla_policy", policy.pk, policy.name, before=before, after=_policy_snapshot(policy)
    )
    return policy


@transaction.atomic
def delete_policy(actor: Actor, policy: SlaPolicy) -> None:
    """Cases under it keep their clocks (their sla_policy becomes empty); deactivate instead to keep the name."""
    actor.require(Perm.CASES_CONFIGURE)
    _audit(actor, "sla.policy_deleted", "sla_policy", policy.pk, policy.name, before=_policy_snapshot(policy))
    policy.delete()
