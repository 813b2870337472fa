"""Reads of the promises ledger, all taking the acting user (CASES_VIEW): a customer's open promises, a case's
promises, the "promises due" queue, the missed ones for the supervisor board, the API's filtered list, and the
promise-kept rate per agent or team.

As with cases, every staff member who may read cases sees every promise; the queues narrow the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Count, Q, QuerySet

from cxloop.cases.models import Case, Promise, PromiseStatus
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer

PENDING = (PromiseStatus.OPEN, PromiseStatus.MISSED)
SCOPES = ("mine", "team", "all")
RATE_BY = ("owner", "team")
DUE_WINDOW = timedelta(hours=24)
RECENTLY_KEPT = timedelta(days=30)


def _base() -> QuerySet[Promise]:
    """Promises with the people and case they name. Two joins, the rest one small query each: joining all seven
    made PostgreSQL spend longer planning the query than running it."""
    return Promise.objects.select_related("customer", "owner").prefetch_related(
        "case", "team", "escalated_to", "made_by", "kept_by"
    )


def get_promise(actor: Actor, public_id: str) -> Promise:
    actor.require(Perm.CASES_VIEW)
    found = _base().filter(public_id=public_id).first()
    if found is None:
        raise NotFoundError(f"No promise {public_id}.")
    return found


def customer_promises(actor: Actor, customer: Customer) -> list[Promise]:
    """The customer's open and missed promises, soonest due first (missed ones are overdue, so they lead)."""
    actor.require(Perm.CASES_VIEW)
    return list(_base().filter(customer=customer, status__in=PENDING).order_by("due_at", "id"))


def recently_kept(actor: Actor, customer: Customer, *, within: timedelta = RECENTLY_KEPT) -> list[Promise]:
    """Promises kept for the customer in the last `within`, newest first (the customer's page shows them too)."""
    actor.require(Perm.CASES_VIEW)
    since = clock.now() - within
    return list(
        Promise.objects.filter(customer=customer, status=PromiseStatus.KEPT, kept_at__gte=since).order_by(
            "-kept_at", "-id"
        )
    )


def case_promises(actor: Actor, case: Case) -> list[Promise]:
    """Every promise made on the case: the pending ones first by due time, then the closed ones newest first."""
    actor.require(Perm.CASES_VIEW)
    pending = models.When(status__in=PENDING, then=models.Value(0))
    return list(
        _base()
        .filter(case=case)
        .annotate(closed=models.Case(pending, default=models.Value(1), output_field=models.IntegerField()))
        .order_by("closed", "due_at", "id")
    )


def promises_due(
    actor: Actor, *, scope: str = "mine", within: timedelta = DUE_WINDOW, limit: int = 100
) -> list[Promise]:
    """The "promises due" queue: open or missed promises due within `within` (or overdue, which come first),
    owned by the actor ("mine"), by their team ("team"), or by anyone ("all")."""
    actor.require(Perm.CASES_VIEW)
    if scope not in SCOPES:
        raise ValidationError("Unknown queue.", fields={"scope": f"one of {', '.join(SCOPES)}"})
    qs = _base().filter(status__in=PENDING, due_at__lte=clock.now() + within)
    user = actor.user
    if scope == "mine":
        qs = qs.filter(owner_id=user.pk if user is not None else -1)
    elif scope == "team":
        qs = qs.filter(team_id=user.team_id if user is not None and user.team_id else -1)
    return list(qs.order_by("due_at", "id")[:limit])


def count_promises_due(actor: Actor, *, scope: str = "mine", within: timedelta = DUE_WINDOW, cap: int = 100) -> int:
    """How many promises the "promises due" queue holds, counted up to `cap` (the tab's badge)."""
    actor.require(Perm.CASES_VIEW)
    qs = Promise.objects.filter(status__in=PENDING, due_at__lte=clock.now() + within)
    user = actor.user
    if scope == "mine":
        qs = qs.filter(owner_id=user.pk if user is not None else -1)
    elif scope == "team":
        qs = qs.filter(team_id=user.team_id if user is not None and user.team_id else -1)
    return qs.values("pk")[:cap].count()


def missed_promises(actor: Actor, *, escalated_to_me: bool = False, limit: int = 50) -> list[Promise]:
    """Promises whose due time passed while open and that are not kept yet: the supervisor board's escalations,
    longest overdue first."""
    actor.require(Perm.CASES_VIEW)
    qs = _base().filter(status=PromiseStatus.MISSED)
    if escalated_to_me:
        qs = qs.filter(escalated_to_id=actor.user.pk if actor.user is not None else -1)
    return list(qs.order_by("due_at", "id")[:limit])


@dataclass(frozen=True)
class PromiseFilters:
    statuses: tuple[str, ...] = ()
    owner: str = ""  # username, or "me"
    customer: str = ""  # public id
    case: str = ""  # public id
    due_before: datetime | None = None


def _check(filters: PromiseFilters) -> None:
    unknown = [s for s in filters.statuses if s not in PromiseStatus.values]
    if unknown:
        raise ValidationError("Unknown status.", fields={"status": f"among {', '.join(PromiseStatus.values)}"})


def list_promises(
    actor: Actor, filters: PromiseFilters, *, cursor: str | None = None, limit: int = 25
) -> Page[Promise]:
    """Promises matching `filters`, soonest due first, a cursor page at a time (over the (status, due_at) and
    (owner, status, due_at) indexes)."""
    actor.require(Perm.CASES_VIEW)
    _check(filters)
    qs = _base()
    if filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.owner == "me":
        qs = qs.filter(owner_id=actor.user.pk if actor.user is not None else -1)
    elif filters.owner:
        qs = qs.filter(owner__username=filters.owner)
    if filters.customer:
        qs = qs.filter(customer__public_id=filters.customer)
    if filters.case:
        qs = qs.filter(case__public_id=filters.case)
    if filters.due_before is not None:
        qs = qs.filter(due_at__lt=filters.due_before)
    return paginate(qs, ("due_at", "id"), cursor, limit)


@dataclass(frozen=True)
class KeptRate:
    """One agent's or team's record over promises due in the period (cancelled ones do not count)."""

    key: str  # username or team id ("" for none)
    label: str  # display name or team name
    kept_on_time: int
    kept_late: int
    missed: int  # missed and still not kept
    open: int
    total: int

    @property
    def rate(self) -> float | None:
        """Kept on time / (kept + missed); None while nothing has come due yet."""
        settled = self.kept_on_time + self.kept_late + self.missed
        return self.kept_on_time / settled if settled else None


def kept_rate(
    actor: Actor, *, by: str = "owner", since: datetime | None = None, until: datetime | None = None
) -> list[KeptRate]:
    """The promise-kept rate per owner or per team over promises due in [since, until): one grouped query."""
    actor.require(Perm.CASES_VIEW)
    if by not in RATE_BY:
        raise ValidationError("Unknown grouping.", fields={"by": f"one of {', '.join(RATE_BY)}"})
    since, until = clock.storable_utc(since, "since"), clock.storable_utc(until, "until")  # PostgreSQL: ±15:59 only
    if since is not None and until is not None and since >= until:
        raise ValidationError("The period is empty.", fields={"until": "must be after since"})
    qs = Promise.objects.exclude(status=PromiseStatus.CANCELLED)
    if since is not None:
        qs = qs.filter(due_at__gte=since)
    if until is not None:
        qs = qs.filter(due_at__lt=until)
    keys = ("owner__username", "owner__first_name", "owner__last_name") if by == "owner" else ("team_id", "team__name")
    kept = Q(status=PromiseStatus.KEPT)
    rows = (
        qs.values(*keys)
        .annotate(
            kept_on_time=Count("id", filter=kept & Q(was_missed=False)),
            kept_late=Count("id", filter=kept & Q(was_missed=True)),
            missed=Count("id", filter=Q(status=PromiseStatus.MISSED)),
            open=Count("id", filter=Q(status=PromiseStatus.OPEN)),
            total=Count("id"),
        )
        .order_by(*keys[:1])
    )
    result: list[KeptRate] = []
    for row in rows:
        if by == "owner":
            username = row["owner__username"] or ""
            full = f"{row['owner__first_name'] or ''} {row['owner__last_name'] or ''}".strip()
            key, label = username, full or username or "No owner"
        else:
            key = str(row["team_id"]) if row["team_id"] is not None else ""
            label = row["team__name"] or "No team"
        result.append(
            KeptRate(key, label, row["kept_on_time"], row["kept_late"], row["missed"], row["open"], row["total"])
        )
    return result
