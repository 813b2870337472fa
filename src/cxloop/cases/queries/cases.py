"""Reads of cases: the queues (mine, team, unassigned, breaching soon, any filter), one case, and counts.

Every staff member who may read cases sees every case (as in the inbox, there is no per-team wall); queues
narrow the view. Lists use keyset pagination over indexed orderings, so they stay fast at a million cases.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet

from cxloop.cases.models import ACTIVE_STATUSES, Case, CaseConversation, CaseLink, CaseStatus, CaseTask, Priority
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.ids import whole_number
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm

QUEUES = ("mine", "team", "unassigned", "breaching", "all")
SORTS = {"newest": ("-id",), "oldest": ("id",), "updated": ("-updated_at", "-id")}
# "Breaching soon": a running SLA target falls due within this window (or already passed).
BREACHING_WINDOW = timedelta(hours=4)


@dataclass(frozen=True)
class CaseFilters:
    queue: str = "all"
    statuses: tuple[str, ...] = ACTIVE_STATUSES
    priority: str = ""
    goal: str = ""  # goal key
    category: str = ""  # category key
    queue_id: int | None = None  # a routing queue
    team: int | None = None
    owner: str = ""  # username
    customer: str = ""  # public id
    text: str = ""
    sort: str = "newest"


def _check(filters: CaseFilters) -> None:
    errors: dict[str, str] = {}
    if filters.queue not in QUEUES:
        errors["queue"] = f"must be one of {', '.join(QUEUES)}"
    unknown = [s for s in filters.statuses if s not in CaseStatus.values]
    if unknown or not filters.statuses:
        errors["status"] = f"must be among {', '.join(CaseStatus.values)}"
    if filters.priority and filters.priority not in Priority.values:
        errors["priority"] = f"must be one of {', '.join(Priority.values)}"
    if filters.sort not in SORTS:
        errors["sort"] = f"must be one of {', '.join(SORTS)}"
    if len(filters.text) > 200:
        errors["q"] = "at most 200 characters"
    if errors:
        raise ValidationError("Invalid filter.", fields=errors)


def _base() -> QuerySet[Case]:
    """Cases with what a queue row shows. Only the customer is joined: joining all six small tables made
    PostgreSQL spend ~13 ms planning a 1 ms query; the other five come in one small query each."""
    return Case.objects.select_related("customer").prefetch_related("goal", "category", "owner", "team", "queue")


def _filtered(actor: Actor, filters: CaseFilters) -> QuerySet[Case]:
    qs = _base().filter(status__in=filters.statuses)
    user = actor.user
    if filters.queue == "mine":
        qs = qs.filter(owner_id=user.pk if user else -1)
    elif filters.queue == "team":
        qs = qs.filter(team_id=user.team_id if user and user.team_id else -1)
    elif filters.queue == "unassigned":
        qs = qs.filter(owner__isnull=True)
    elif filters.queue == "breaching":
        qs = qs.filter(sla_next_due_at__isnull=False, sla_next_due_at__lte=clock.now() + BREACHING_WINDOW)
    for value, lookup in (
        (filters.priority, "priority"),
        (filters.goal, "goal__key"),
        (filters.category, "category__key"),
        (filters.owner, "owner__username"),
        (filters.customer, "customer__public_id"),
    ):
        if value:
            qs = qs.filter(**{lookup: value})
    if filters.queue_id is not None:
        qs = qs.filter(queue_id=filters.queue_id)
    if filters.team is not None:
        qs = qs.filter(team_id=filters.team)
    if filters.text:
        text = filters.text.strip()
        number = whole_number(text.lstrip("#"))
        qs = qs.filter(Q(subject__icontains=text) | Q(public_id=text) | (Q(pk=number) if number is not None else Q()))
    return qs


def list_cases(actor: Actor, filters: CaseFilters, *, cursor: str | None = None, limit: int = 25) -> Page[Case]:
    actor.require(Perm.CASES_VIEW)
    _check(filters)
    ordering = ("sla_next_due_at", "id") if filters.queue == "breaching" else SORTS[filters.sort]
    return paginate(_filtered(actor, filters), ordering, cursor, limit)


# Queue tabs count up to this many and then say "1000+": an exact count of a big backlog reads every row of it
# on every page view, and nobody needs the exact size of a pile that large to decide what to do next.
COUNT_CAP = 1000


def capped_count(queryset: QuerySet[Any], cap: int = COUNT_CAP) -> int:
    """COUNT over at most `cap` rows (SELECT COUNT(*) FROM (… LIMIT cap))."""
    return queryset.values("pk")[:cap].count()


@dataclass
class QueueCounts:
    mine: int = 0
    team: int = 0
    unassigned: int = 0
    breaching: int = 0
    cap: int = COUNT_CAP


def queue_counts(actor: Actor) -> QueueCounts:
    """How many active cases each queue holds for the actor (each up to COUNT_CAP): four counts, each on its own
    index (one COUNT with four filters would read every active case)."""
    actor.require(Perm.CASES_VIEW)
    user = actor.user
    active = Case.objects.filter(status__in=ACTIVE_STATUSES)
    return QueueCounts(
        mine=capped_count(active.filter(owner_id=user.pk)) if user else 0,
        team=capped_count(active.filter(team_id=user.team_id)) if user and user.team_id else 0,
        unassigned=capped_count(active.filter(owner__isnull=True)),
        breaching=capped_count(
            Case.objects.filter(sla_next_due_at__isnull=False, sla_next_due_at__lte=clock.now() + BREACHING_WINDOW)
        ),
    )


def get_case(actor: Actor, case_id: str) -> Case:
    """One case by public id or number (#123)."""
    actor.require(Perm.CASES_VIEW)
    number = whole_number(case_id.lstrip("#"))
    lookup = Q(pk=number) if number is not None else Q(public_id=case_id)
    case = _base().filter(lookup).first()
    if case is None:
        raise NotFoundError("No such case.")
    return case


def cases_of_customer(actor: Actor, customer_id: int, *, limit: int = 20) -> list[Case]:
    actor.require(Perm.CASES_VIEW)
    return list(_base().filter(customer_id=customer_id).order_by("-opened_at", "-id")[:limit])


def tasks_of(actor: Actor, case: Case) -> list[CaseTask]:
    actor.require(Perm.CASES_VIEW)
    return list(CaseTask.objects.filter(case=case).select_related("owner").order_by("position", "id"))


def conversations_of(actor: Actor, case: Case) -> list[CaseConversation]:
    actor.require(Perm.CASES_VIEW)
    return list(CaseConversation.objects.filter(case=case).select_related("thread").order_by("linked_at"))


@dataclass(frozen=True)
class LinkedCase:
    link_id: int
    kind: str  # as read from this case: duplicate_of, duplicated_by, related, child_of, parent_of
    case: Case


_REVERSE = {"duplicate_of": "duplicated_by", "related": "related", "child_of": "parent_of"}


def links_of(actor: Actor, case: Case) -> list[LinkedCase]:
    actor.require(Perm.CASES_VIEW)
    out = [
        LinkedCase(link.pk, link.kind, link.to_case)
        for link in CaseLink.objects.filter(from_case=case).select_related("to_case")
    ]
    out += [
        LinkedCase(link.pk, _REVERSE[link.kind], link.from_case)
        for link in CaseLink.objects.filter(to_case=case).select_related("from_case")
    ]
    return out


def my_open_tasks(actor: Actor, *, limit: int = 50) -> list[CaseTask]:
    """Tasks of active cases the actor owns, soonest due first."""
    actor.require(Perm.CASES_VIEW)
    if actor.user is None:
        return []
    return list(
        CaseTask.objects.filter(owner=actor.user, status="todo", case__status__in=ACTIVE_STATUSES)
        .select_related("case")
        .order_by("due_at", "id")[:limit]
    )


def categories_of(actor: Actor, case_ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """(category key, name) of each of these cases (public ids) that has a category, in chunked queries; the
    feedback module's driver analysis asks this for the cases its answers followed."""
    actor.require(Perm.CASES_VIEW)
    wanted = sorted(set(case_ids))
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), 1000):
        rows = Case.objects.filter(public_id__in=wanted[start : start + 1000], category__isnull=False).values_list(
            "public_id", "category__key", "category__name"
        )
        found.update({public_id: (key, name) for public_id, key, name in rows})
    return found
