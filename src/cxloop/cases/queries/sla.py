"""Reads of SLAs: calendars (with holidays and the teams that use them), policies, and one case's clocks.

Everyone who may read cases may read how SLAs are set up (the case page explains a clock by its policy);
changing them is for CASES_CONFIGURE (services/sla_config.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cxloop.accounts.models import Team
from cxloop.cases.business_time import business_seconds_between
from cxloop.cases.models import BusinessCalendar, Case, SlaClock, SlaMetric, SlaPolicy, TeamCalendar
from cxloop.cases.services import sla
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError
from cxloop.core.permissions import Perm


@dataclass(frozen=True)
class ClockView:
    """One SLA target of a case as the case page shows it. `remaining_seconds` are business seconds left
    (negative once overdue; for a stopped clock, what was left when it stopped)."""

    metric: str
    label: str
    state: str
    target_seconds: int
    started_at: datetime
    due_at: datetime | None
    remaining_seconds: int
    is_breached: bool
    breached_at: datetime | None
    met_at: datetime | None


def list_calendars(actor: Actor) -> list[BusinessCalendar]:
    actor.require(Perm.CASES_VIEW)
    return list(BusinessCalendar.objects.prefetch_related("holidays", "teams__team").order_by("name"))


def get_calendar(actor: Actor, calendar_id: int) -> BusinessCalendar:
    actor.require(Perm.CASES_VIEW)
    calendar = BusinessCalendar.objects.prefetch_related("holidays", "teams__team").filter(pk=calendar_id).first()
    if calendar is None:
        raise NotFoundError("No such business calendar.")
    return calendar


def list_team_calendars(actor: Actor) -> list[tuple[Team, BusinessCalendar | None]]:
    """Every team with the calendar its SLAs count in (None: the default calendar, or always open)."""
    actor.require(Perm.CASES_VIEW)
    assigned = {tc.team_id: tc.calendar for tc in TeamCalendar.objects.select_related("calendar")}
    return [(team, assigned.get(team.pk)) for team in Team.objects.order_by("name")]


def get_team(actor: Actor, team_id: int) -> Team:
    actor.require(Perm.CASES_VIEW)
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise NotFoundError("No such team.")
    return team


def list_policies(actor: Actor) -> list[SlaPolicy]:
    actor.require(Perm.CASES_VIEW)
    return list(SlaPolicy.objects.prefetch_related("categories").order_by("position", "id"))


def get_policy(actor: Actor, policy_id: int) -> SlaPolicy:
    actor.require(Perm.CASES_VIEW)
    policy = SlaPolicy.objects.prefetch_related("categories").filter(pk=policy_id).first()
    if policy is None:
        raise NotFoundError("No such SLA policy.")
    return policy


def sla_clocks_for(actor: Actor, case: Case) -> list[ClockView]:
    """The case's SLA clocks (cancelled ones left out), first response first, with business time left now."""
    actor.require(Perm.CASES_VIEW)
    now = clock.now()
    clocks = [c for c in SlaClock.objects.filter(case_id=case.pk).order_by("pk") if c.state != sla.CANCELLED]
    spec = sla.spec_for_team(case.team_id) if any(c.state in sla.COUNTING for c in clocks) else None
    order = {m: i for i, m in enumerate(SlaMetric.values)}
    views = []
    for item in sorted(clocks, key=lambda c: (order.get(c.metric, 9), c.pk)):
        counted = item.elapsed_seconds
        if spec is not None and item.state in sla.COUNTING and item.resumed_at is not None:
            counted += business_seconds_between(spec, item.resumed_at, now)
        views.append(
            ClockView(
                metric=item.metric,
                label=SlaMetric(item.metric).label,
                state=item.state,
                target_seconds=item.target_seconds,
                started_at=item.started_at,
                due_at=item.due_at,
                remaining_seconds=item.target_seconds - counted,
                is_breached=item.breached_at is not None,
                breached_at=item.breached_at,
                met_at=item.met_at,
            )
        )
    return views
