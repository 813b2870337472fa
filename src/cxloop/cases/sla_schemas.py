"""API shapes of SLAs: calendars, holidays, team calendars, policies, and a case's clocks."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Schema
from pydantic import Field

from cxloop.accounts.models import Team
from cxloop.cases.models import BusinessCalendar, Holiday, SlaPolicy
from cxloop.cases.queries.sla import ClockView

Hours = dict[str, list[list[str]]]
HOURS_HELP = 'mon…sun → [["09:00", "17:00"], …]; an end not after its start runs past midnight; [] = closed'


class HolidayIn(Schema):
    date: date
    name: str = Field(max_length=100)


class HolidayOut(Schema):
    id: int
    date: date
    name: str

    @staticmethod
    def of(h: Holiday) -> HolidayOut:
        return HolidayOut(id=h.pk, date=h.date, name=h.name)


class CalendarIn(Schema):
    name: str = Field(max_length=100)
    time_zone: str = Field(default="UTC", max_length=64, description="IANA name, e.g. Europe/London")
    hours: Hours = Field(default_factory=dict, description=HOURS_HELP)
    is_always_open: bool = False
    is_default: bool = Field(default=False, description="Used by teams without a calendar of their own")


class CalendarUpdate(Schema):
    name: str | None = Field(default=None, max_length=100)
    time_zone: str | None = Field(default=None, max_length=64)
    hours: Hours | None = Field(default=None, description=HOURS_HELP)
    is_always_open: bool | None = None
    is_default: bool | None = None


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    hours: Hours
    is_always_open: bool
    is_default: bool
    holidays: list[HolidayOut]
    teams: list[str]

    @staticmethod
    def of(c: BusinessCalendar) -> CalendarOut:
        return CalendarOut(
            id=c.pk,
            name=c.name,
            time_zone=c.time_zone,
            hours=c.hours,
            is_always_open=c.is_always_open,
            is_default=c.is_default,
            holidays=[HolidayOut.of(h) for h in c.holidays.all()],
            teams=sorted(tc.team.name for tc in c.teams.all()),
        )


class TeamCalendarIn(Schema):
    calendar: int | None = Field(description="Calendar id; null: back to the default calendar")


class TeamCalendarOut(Schema):
    team_id: int
    team: str
    calendar: int | None
    calendar_name: str | None

    @staticmethod
    def of(team: Team, calendar: BusinessCalendar | None) -> TeamCalendarOut:
        return TeamCalendarOut(
            team_id=team.pk,
            team=team.name,
            calendar=calendar.pk if calendar else None,
            calendar_name=calendar.name if calendar else None,
        )


class PolicyIn(Schema):
    name: str = Field(max_length=100)
    position: int = Field(default=0, ge=0, le=32767, description="Lower comes first; the first match applies")
    is_active: bool = True
    priorities: list[str] = Field(default_factory=list, max_length=10, description="Empty: any priority")
    categories: list[str] = Field(default_factory=list, max_length=200, description="Category keys; empty: any")
    customer_tiers: list[str] = Field(default_factory=list, max_length=20, description="Empty: any tier")
    first_response_minutes: int | None = Field(default=None, ge=1, description="Business minutes")
    next_response_minutes: int | None = Field(default=None, ge=1)
    resolution_minutes: int | None = Field(default=None, ge=1)
    warn_before_minutes: int = Field(default=30, ge=0)


class PolicyUpdate(Schema):
    """Fields to change; a target sent as null removes it."""

    name: str | None = Field(default=None, max_length=100)
    position: int | None = Field(default=None, ge=0, le=32767)
    is_active: bool | None = None
    priorities: list[str] | None = Field(default=None, max_length=10)
    categories: list[str] | None = Field(default=None, max_length=200)
    customer_tiers: list[str] | None = Field(default=None, max_length=20)
    first_response_minutes: int | None = Field(default=None, ge=1)
    next_response_minutes: int | None = Field(default=None, ge=1)
    resolution_minutes: int | None = Field(default=None, ge=1)
    warn_before_minutes: int | None = Field(default=None, ge=0)


class PolicyOut(Schema):
    id: int
    name: str
    position: int
    is_active: bool
    priorities: list[str]
    categories: list[str]
    customer_tiers: list[str]
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    warn_before_minutes: int

    @staticmethod
    def of(p: SlaPolicy) -> PolicyOut:
        return PolicyOut(
            id=p.pk,
            name=p.name,
            position=p.position,
            is_active=p.is_active,
            priorities=list(p.priorities),
            categories=sorted(c.key for c in p.categories.all()),
            customer_tiers=list(p.customer_tiers),
            first_response_minutes=p.first_response_minutes,
            next_response_minutes=p.next_response_minutes,
            resolution_minutes=p.resolution_minutes,
            warn_before_minutes=p.warn_before_minutes,
        )


class ClockOut(Schema):
    metric: str
    label: str
    state: str
    target_seconds: int
    started_at: datetime
    due_at: datetime | None
    remaining_seconds: int = Field(description="Business seconds left now; negative when overdue")
    is_breached: bool
    breached_at: datetime | None
    met_at: datetime | None

    @staticmethod
    def of(v: ClockView) -> ClockOut:
        return ClockOut(**v.__dict__)
