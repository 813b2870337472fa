"""Reads the staff UI needs beside the queues: choices for its forms, the supervisor board's alert lists and
counts, the receiver's unread hand-over of one case, and the navigation's "my active cases" count.

Every function takes the actor and checks that it may read cases, like the other case queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q

from cxloop.cases.models import (
    ACTIVE_STATUSES,
    Case,
    Category,
    Goal,
    Handover,
    Macro,
    Queue,
    SlaClock,
    SlaClockState,
    SlaState,
)
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm


@dataclass(frozen=True)
class CaseChoices:
    """The configured goals, categories, routing queues and macros, for filters and forms (active ones only)."""

    goals: list[Goal]
    categories: list[Category]
    queues: list[Queue]
    macros: list[Macro]


def case_choices(actor: Actor, *, queues: bool = True, macros: bool = True) -> CaseChoices:
    """Goals and categories always; routing queues and macros only when asked (the case page needs neither)."""
    actor.require(Perm.CASES_VIEW)
    return CaseChoices(
        goals=list(Goal.objects.filter(is_active=True).order_by("position", "name")),
        categories=list(Category.objects.filter(is_active=True).order_by("name")),
        queues=list(Queue.objects.order_by("name")) if queues else [],
        macros=list(Macro.objects.filter(is_active=True).order_by("name")) if macros else [],
    )


def my_active_count(actor: Actor) -> int:
    """Active cases the actor owns (the navigation's count); 0 for those who may not read cases."""
    if actor.user is None or not actor.can(Perm.CASES_VIEW):
        return 0
    return Case.objects.filter(owner_id=actor.user.pk, status__in=ACTIVE_STATUSES).count()


def sla_alerts(actor: Actor, *, limit: int = 50) -> list[Case]:
    """Active cases whose SLA is breached or about to be, the most urgent first (breached ones lead)."""
    actor.require(Perm.CASES_VIEW)
    states = (SlaState.BREACHED.value, SlaState.WARNING.value)
    rows = (
        Case.objects.filter(status__in=ACTIVE_STATUSES, sla_state__in=states)
        .select_related("customer", "owner", "team")
        .order_by("sla_next_due_at", "id")[:limit]
    )
    return sorted(rows, key=lambda case: case.sla_state != SlaState.BREACHED.value)


@dataclass(frozen=True)
class BoardCounts:
    unassigned: int
    breached: int
    warning: int
    handovers_today: int


def board_counts(actor: Actor, *, since: datetime | None = None) -> BoardCounts:
    """Unassigned and SLA-alert counts of active cases (one query) and hand-overs since `since` (default: the
    last 24 hours)."""
    actor.require(Perm.CASES_VIEW)
    counts = Case.objects.filter(status__in=ACTIVE_STATUSES).aggregate(
        unassigned=Count("id", filter=Q(owner__isnull=True)),
        breached=Count("id", filter=Q(sla_state=SlaState.BREACHED.value)),
        warning=Count("id", filter=Q(sla_state=SlaState.WARNING.value)),
    )
    start = since or clock.now() - timedelta(hours=24)
    handovers = Handover.objects.filter(created_at__gte=start).count()
    return BoardCounts(handovers_today=handovers, **counts)


def unread_handover_of(actor: Actor, case: Case) -> Handover | None:
    """The newest hand-over of this case to the actor that they have not acknowledged yet."""
    actor.require(Perm.CASES_VIEW)
    if actor.user is None:
        return None
    return (
        Handover.objects.filter(case=case, to_user=actor.user, acknowledged_at__isnull=True)
        .select_related("from_user", "to_team")
        .order_by("-created_at", "-id")
        .first()
    )


def get_handover(actor: Actor, case: Case, handover_id: int) -> Handover | None:
    actor.require(Perm.CASES_VIEW)
    return Handover.objects.filter(case=case, pk=handover_id).first()


# --- interim read, used until the SLA queries answer the same question -------------------------------------------
def clocks_of(actor: Actor, case: Case) -> list[SlaClock]:
    """The case's SLA clocks that still matter (not cancelled), by metric."""
    actor.require(Perm.CASES_VIEW)
    return list(SlaClock.objects.filter(case=case).exclude(state=SlaClockState.CANCELLED).order_by("metric", "id"))
