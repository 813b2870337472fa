"""SLA clocks of cases: started, paused, resumed, met and re-targeted by the case services, breached by the sweep.

The hooks below run inside the caller's transaction (open_case, change_status, the message subscriber…) and
never save the case itself: they write the clocks, then the case's summary fields (sla_state,
sla_next_due_at, sla_policy) with a queryset update, so the case's `version` is not raised by bookkeeping.
They also set those fields on the instance they were given, so the caller sees them.

A clock counts business seconds in the calendar of the case's team (its TeamCalendar, else the default
calendar, else always open in settings.TIME_ZONE). `elapsed_seconds` holds what was counted before
`resumed_at`; `due_at`/`warn_at` are recomputed from the seconds left whenever the clock (re)starts, so the
sweep only compares instants and never does calendar arithmetic.

States: running → (warned) → breached (still counting, until met) → met; paused while the case waits on the
customer; cancelled when the target no longer applies (a response clock when the case is resolved, a
metric the new policy lacks). A clock met late keeps its `breached_at`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction

from cxloop.accounts.notifications import NotificationInput, notify_many
from cxloop.cases.business_time import (
    CalendarError,
    CalendarSpec,
    add_business_seconds,
    business_seconds_between,
)
from cxloop.cases.events import SlaBreached, SlaWarning
from cxloop.cases.models import (
    ACTIVE_STATUSES,
    BusinessCalendar,
    Case,
    CaseStatus,
    Holiday,
    SlaClock,
    SlaClockState,
    SlaMetric,
    SlaPolicy,
    SlaState,
)
from cxloop.core import clock
from cxloop.events.bus import DomainEvent, publish_all

logger = logging.getLogger(__name__)

RUNNING, PAUSED, MET, BREACHED, CANCELLED = (
    SlaClockState.RUNNING.value,
    SlaClockState.PAUSED.value,
    SlaClockState.MET.value,
    SlaClockState.BREACHED.value,
    SlaClockState.CANCELLED.value,
)
COUNTING = (RUNNING, BREACHED)
UNMET = (RUNNING, PAUSED, BREACHED)
RESPONSE_METRICS = (SlaMetric.FIRST_RESPONSE.value, SlaMetric.NEXT_RESPONSE.value)
CLOCK_FIELDS = ["state", "target_seconds", "resumed_at", "elapsed_seconds", "due_at", "warn_at", "warned_at"]
CLOCK_FIELDS += ["breached_at", "met_at"]
# Clocks claimed per sweep transaction: bounded memory and lock time when a backlog comes due at once.
SWEEP_BATCH = 2000


# --- calendars and policies ------------------------------------------------------------------------------------


def spec_of(calendar: BusinessCalendar) -> CalendarSpec:
    holidays = Holiday.objects.filter(calendar=calendar).values_list("date", flat=True)
    try:
        return CalendarSpec.from_calendar(calendar, holidays)
    except CalendarError:
        logger.warning("business calendar %s cannot be read; counting as always open", calendar.pk)
        return CalendarSpec.always(calendar.time_zone if calendar.time_zone else settings.TIME_ZONE)


def calendar_for_team(team_id: int | None) -> BusinessCalendar | None:
    """The team's calendar, else the default one, else None (always open)."""
    if team_id is not None:
        own = BusinessCalendar.objects.filter(teams__team_id=team_id).first()
        if own is not None:
            return own
    return BusinessCalendar.objects.filter(is_default=True).order_by("pk").first()


def spec_for_team(team_id: int | None) -> CalendarSpec:
    calendar = calendar_for_team(team_id)
    if calendar is None:
        return CalendarSpec.always(settings.TIME_ZONE)
    return spec_of(calendar)


def customer_tier(case: Case) -> str:
    """The customer's tier (the attribute named by CXLOOP_CUSTOMER_TIER_ATTRIBUTE), lower-cased; "" if none."""
    value = (case.customer.attributes or {}).get(settings.CXLOOP_CUSTOMER_TIER_ATTRIBUTE)
    return str(value).strip().lower() if value not in (None, "") else ""


def policy_matches(policy: SlaPolicy, case: Case, tier: str, category_ids: Iterable[int]) -> bool:
    """Every condition that is set holds; an empty condition matches anything."""
    if policy.priorities and case.priority not in policy.priorities:
        return False
    allowed = set(category_ids)
    if allowed and case.category_id not in allowed:
        return False
    tiers = {str(t).strip().lower() for t in policy.customer_tiers or []}
    return not tiers or tier in tiers


def match_policy(case: Case) -> SlaPolicy | None:
    """The first active policy, by position, whose conditions the case meets."""
    tier = customer_tier(case)
    for policy in SlaPolicy.objects.filter(is_active=True).prefetch_related("categories"):
        if policy_matches(policy, case, tier, (c.pk for c in policy.categories.all())):
            return policy
    return None


def _targets(policy: SlaPolicy | None) -> dict[str, int]:
    """Target seconds per metric of `policy` (metrics without a target are absent)."""
    if policy is None:
        return {}
    minutes = {
        SlaMetric.FIRST_RESPONSE.value: policy.first_response_minutes,
        SlaMetric.NEXT_RESPONSE.value: policy.next_response_minutes,
        SlaMetric.RESOLUTION.value: policy.resolution_minutes,
    }
    return {metric: value * 60 for metric, value in minutes.items() if value}


# --- one clock -------------------------------------------------------------------------------------------------


def _bank(item: SlaClock, spec: CalendarSpec, at: datetime) -> None:
    """Add the business time counted since the clock last (re)started to its elapsed seconds."""
    if item.state in COUNTING and item.resumed_at is not None and at > item.resumed_at:
        item.elapsed_seconds += business_seconds_between(spec, item.resumed_at, at)
        item.resumed_at = at


def _schedule(item: SlaClock, spec: CalendarSpec, at: datetime, warn_before: int) -> None:
    """(Re)start counting at `at`: due and warning instants from the business seconds left.

    A breached clock keeps the due time it missed. A clock with nothing left falls due at once (the next
    sweep breaches it)."""
    item.resumed_at = at
    if item.breached_at is not None:
        item.state = BREACHED
        return
    item.state = RUNNING
    remaining = item.target_seconds - item.elapsed_seconds
    if remaining <= 0:
        item.due_at = item.warn_at = at
        return
    try:
        item.due_at = add_business_seconds(spec, at, remaining)
        item.warn_at = add_business_seconds(spec, at, max(0, remaining - warn_before))
    except ValueError:  # a calendar that never opens again: the target can never fall due
        item.due_at = item.warn_at = None
    if item.warned_at is not None and item.warn_at is not None and item.warn_at > at:
        item.warned_at = None  # a longer target: warn again when the new window comes


def _pause(item: SlaClock, spec: CalendarSpec, at: datetime) -> None:
    _bank(item, spec, at)
    item.state, item.resumed_at = PAUSED, None
    if item.breached_at is None:
        item.due_at = item.warn_at = None


def _stop(item: SlaClock, spec: CalendarSpec, at: datetime, state: str) -> None:
    """Met or cancelled: the elapsed time is banked and the clock stops for good (unless reopened)."""
    _bank(item, spec, at)
    item.state, item.resumed_at = state, None
    if state == MET:
        item.met_at = at


def _new_clock(case: Case, metric: str, target: int, at: datetime, elapsed: int = 0) -> SlaClock:
    return SlaClock(
        case_id=case.pk, metric=metric, target_seconds=target, started_at=at, elapsed_seconds=elapsed, state=PAUSED
    )


def _warn_seconds(policy: SlaPolicy | None) -> int:
    return (policy.warn_before_minutes if policy is not None else 0) * 60


# --- the case summary ------------------------------------------------------------------------------------------


def summarize(clocks: Sequence[SlaClock], *, case_active: bool, at: datetime) -> tuple[str, datetime | None]:
    """The case-level SLA state and next due time from its clocks (cancelled clocks do not count)."""
    live = [c for c in clocks if c.state != CANCELLED]
    if not live:
        return SlaState.NONE.value, None
    counting = [c for c in live if c.state in COUNTING]
    dues = [c.due_at for c in counting if c.due_at is not None]
    next_due = min(dues) if dues else None
    unmet = [c for c in live if c.state in UNMET]
    if any(c.state == BREACHED for c in live) or (case_active and any(c.breached_at for c in live)):
        state = SlaState.BREACHED
    elif any(c.state == RUNNING and c.warn_at is not None and c.warn_at <= at for c in counting):
        state = SlaState.WARNING
    elif unmet and all(c.state == PAUSED for c in unmet):
        state = SlaState.PAUSED
    elif not unmet:
        state = SlaState.MET
    else:
        state = SlaState.OK
    return state.value, next_due


def _write(case: Case, clocks: list[SlaClock], changed: list[SlaClock], policy_id: int | None, at: datetime) -> None:
    """Save new and changed clocks, then the case's summary (queryset update: the version is not raised)."""
    new = [c for c in changed if c.pk is None]
    old = [c for c in changed if c.pk is not None]
    if new:
        SlaClock.objects.bulk_create(new)
    if old:
        SlaClock.objects.bulk_update(old, CLOCK_FIELDS)
    state, next_due = summarize(clocks, case_active=case.status in ACTIVE_STATUSES, at=at)
    if (state, next_due, policy_id) != (case.sla_state, case.sla_next_due_at, case.sla_policy_id):
        Case.objects.filter(pk=case.pk).update(sla_state=state, sla_next_due_at=next_due, sla_policy_id=policy_id)
        case.sla_state, case.sla_next_due_at, case.sla_policy_id = state, next_due, policy_id


def _clocks(case: Case) -> list[SlaClock]:
    return list(SlaClock.objects.filter(case_id=case.pk).order_by("pk"))


def _policy(case: Case) -> SlaPolicy | None:
    if case.sla_policy_id is None:
        return None
    return SlaPolicy.objects.filter(pk=case.sla_policy_id).first()


# --- the hooks the case services call --------------------------------------------------------------------------


def start_clocks(case: Case, at: datetime) -> None:
    """A new case: pick the policy and start its first-response and resolution clocks.

    Next-response clocks start later, on customer messages after the first response."""
    policy = match_policy(case) if case.status in ACTIVE_STATUSES else None
    targets = _targets(policy)
    started: list[SlaClock] = []
    spec: CalendarSpec | None = None
    for metric in (SlaMetric.FIRST_RESPONSE.value, SlaMetric.RESOLUTION.value):
        if metric not in targets or (metric == SlaMetric.FIRST_RESPONSE and case.first_response_at is not None):
            continue
        spec = spec or spec_for_team(case.team_id)
        item = _new_clock(case, metric, targets[metric], at)
        if case.status != CaseStatus.WAITING_ON_CUSTOMER:
            _schedule(item, spec, at, _warn_seconds(policy))
        started.append(item)
    _write(case, started, started, policy.pk if policy else None, at)


def on_status_changed(case: Case, previous: str, at: datetime) -> None:
    """Waiting on the customer pauses; leaving it resumes; resolved/closed meets the resolution target and
    cancels response targets; a reopened case's resolution clock counts on from where it stopped."""
    status = case.status
    clocks = _clocks(case)
    if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        changed = [c for c in clocks if c.state in UNMET]
    elif status == CaseStatus.WAITING_ON_CUSTOMER:
        changed = [c for c in clocks if c.state in COUNTING]
    else:
        reopening = previous in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
        changed = [
            c
            for c in clocks
            if c.state == PAUSED or (reopening and c.metric == SlaMetric.RESOLUTION and c.state == MET)
        ]
    if not changed:
        _write(case, clocks, [], case.sla_policy_id, at)
        return
    spec = spec_for_team(case.team_id)
    warn_before = _warn_seconds(_policy(case)) if status in ACTIVE_STATUSES else 0
    for item in changed:
        if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            _stop(item, spec, at, MET if item.metric == SlaMetric.RESOLUTION else CANCELLED)
        elif status == CaseStatus.WAITING_ON_CUSTOMER:
            _pause(item, spec, at)
        else:
            item.met_at = None
            _schedule(item, spec, at, warn_before)
    _write(case, clocks, changed, case.sla_policy_id, at)


def on_response(case: Case, at: datetime) -> None:
    """Staff answered the customer: the first response (and a pending next response) is met."""
    clocks = _clocks(case)
    pending = [c for c in clocks if c.metric in RESPONSE_METRICS and c.state in UNMET]
    if not pending:
        return
    spec = spec_for_team(case.team_id)
    for item in pending:
        _stop(item, spec, at, MET)
    _write(case, clocks, pending, case.sla_policy_id, at)


def _first_response_given(case: Case, clocks: Sequence[SlaClock]) -> bool:
    first = [c for c in clocks if c.metric == SlaMetric.FIRST_RESPONSE]
    if first:
        return any(c.state == MET for c in first)
    return case.first_response_at is not None


def on_customer_message(case: Case, at: datetime) -> None:
    """The customer wrote again after we answered: a next-response clock starts (one at a time)."""
    if case.status not in ACTIVE_STATUSES:
        return
    policy = _policy(case)
    target = _targets(policy).get(SlaMetric.NEXT_RESPONSE.value)
    if target is None:
        return
    clocks = _clocks(case)
    waiting = any(c.metric == SlaMetric.NEXT_RESPONSE and c.state in UNMET for c in clocks)
    if waiting or not _first_response_given(case, clocks):
        return
    item = _new_clock(case, SlaMetric.NEXT_RESPONSE.value, target, at)
    if case.status != CaseStatus.WAITING_ON_CUSTOMER:
        _schedule(item, spec_for_team(case.team_id), at, _warn_seconds(policy))
    _write(case, [*clocks, item], [item], case.sla_policy_id, at)


def reevaluate(case: Case, at: datetime) -> None:
    """Priority, category, team or the customer's tier changed: pick the policy again.

    Business time already counted is kept; targets come from the new policy and due times are recomputed in
    the (possibly new) team calendar. The stretch since the clock last started is counted in the case's
    current calendar: the case services call this after the team changed, so the old calendar is not known
    here (the difference is at most that one stretch, and only when the two calendars differ). A metric the
    new policy lacks is cancelled; one it adds starts with the business time since the case opened. A breach
    already announced stays a breach even when the new target is longer.
    """
    clocks = _clocks(case)
    policy = match_policy(case) if case.status in ACTIVE_STATUSES else None
    spec = spec_for_team(case.team_id)
    targets, warn_before = _targets(policy), _warn_seconds(policy)
    changed: list[SlaClock] = []
    for item in clocks:
        if item.state not in UNMET:
            continue
        _bank(item, spec, at)
        changed.append(item)
        if item.metric not in targets:
            _stop(item, spec, at, CANCELLED)
            continue
        item.target_seconds = targets[item.metric]
        if item.state != PAUSED:
            _schedule(item, spec, at, warn_before)
    have = {c.metric for c in clocks if c.state != CANCELLED}
    for metric in (SlaMetric.FIRST_RESPONSE.value, SlaMetric.RESOLUTION.value):
        if metric not in targets or metric in have:
            continue
        if metric == SlaMetric.FIRST_RESPONSE and case.first_response_at is not None:
            continue
        elapsed = business_seconds_between(spec, case.opened_at, at)
        item = _new_clock(case, metric, targets[metric], case.opened_at, elapsed)
        if case.status != CaseStatus.WAITING_ON_CUSTOMER:
            _schedule(item, spec, at, warn_before)
        clocks.append(item)
        changed.append(item)
    _write(case, clocks, changed, policy.pk if policy else None, at)


# --- the sweep -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    warned: int
    breached: int
    cases: int


def sweep(at: datetime | None = None) -> SweepResult:
    """Warn and breach every clock whose instant has passed, set-based, in batches of SWEEP_BATCH.

    Each batch is one transaction: read the due clocks (indexed on state and warn_at/due_at), mark them with
    one UPDATE, set the touched cases' sla_state with one UPDATE, publish the events on commit. On
    PostgreSQL the read locks the clocks with SKIP LOCKED, so sweeps running side by side split the work;
    the UPDATE re-checks the state, so a clock is never announced twice.

    The case summaries need no full recomputation: a breach can only make a case "breached" (its due time
    stays the clock's due_at, still counting), and a warning makes it "warning" unless it is breached.
    """
    now = at or clock.now()
    breached_cases: set[int] = set()
    breached = _sweep_loop(lambda: _breach_batch(now, breached_cases))
    warned_cases: set[int] = set()
    warned = _sweep_loop(lambda: _warn_batch(now, warned_cases))
    return SweepResult(warned=warned, breached=breached, cases=len(breached_cases | warned_cases))


def _sweep_loop(step: Callable[[], tuple[int, int]]) -> int:
    total = 0
    while True:
        read, claimed = step()
        total += claimed
        if read < SWEEP_BATCH:
            return total


DueRow = tuple[int, int, str, datetime | None, str]  # clock pk, case pk, metric, due_at, case public id


def _due_rows(**filters: object) -> list[DueRow]:
    query = (
        SlaClock.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(**filters)
        .order_by()
        .values_list("pk", "case_id", "metric", "due_at", "case__public_id")
    )
    return list(query[:SWEEP_BATCH])


def _claimed(rows: list[DueRow], count: int, **marker: object) -> list[DueRow]:
    """The rows this sweep's UPDATE changed: all of them, unless another sweep got to some first."""
    if count == len(rows):
        return rows
    mine = set(SlaClock.objects.filter(pk__in=[r[0] for r in rows], **marker).values_list("pk", flat=True))
    return [r for r in rows if r[0] in mine]


@transaction.atomic
def _breach_batch(now: datetime, cases: set[int]) -> tuple[int, int]:
    rows = _due_rows(state=RUNNING, due_at__lte=now)
    if not rows:
        return 0, 0
    count = SlaClock.objects.filter(pk__in=[r[0] for r in rows], state=RUNNING).update(state=BREACHED, breached_at=now)
    mine = _claimed(rows, count, breached_at=now)
    case_ids = {r[1] for r in mine}
    Case.objects.filter(pk__in=case_ids).exclude(sla_state=SlaState.BREACHED).update(sla_state=SlaState.BREACHED)
    cases |= case_ids
    _tell_owners(mine, "sla.breached", "missed its {metric} target")
    events: list[DomainEvent] = [SlaBreached(case_id=r[4], metric=r[2], due_at=_iso(r[3])) for r in mine]
    publish_all(events)
    return len(rows), len(mine)


@transaction.atomic
def _warn_batch(now: datetime, cases: set[int]) -> tuple[int, int]:
    rows = _due_rows(state=RUNNING, warn_at__lte=now, warned_at__isnull=True, due_at__gt=now)
    if not rows:
        return 0, 0
    count = SlaClock.objects.filter(pk__in=[r[0] for r in rows], warned_at__isnull=True).update(warned_at=now)
    mine = _claimed(rows, count, warned_at=now)
    case_ids = {r[1] for r in mine}
    Case.objects.filter(pk__in=case_ids, sla_state__in=[SlaState.OK, SlaState.NONE]).update(sla_state=SlaState.WARNING)
    cases |= case_ids
    _tell_owners(mine, "sla.warning", "is close to its {metric} target")
    events: list[DomainEvent] = [SlaWarning(case_id=r[4], metric=r[2], due_at=_iso(r[3])) for r in mine]
    publish_all(events)
    return len(rows), len(mine)


def _tell_owners(rows: list[DueRow], kind: str, what: str) -> None:
    """One notification per case and target to the case's owner, in bulk (a sweep may tell hundreds at once)."""
    owners = dict(Case.objects.filter(pk__in={r[1] for r in rows}, owner__isnull=False).values_list("pk", "owner_id"))
    notify_many(
        [
            NotificationInput(
                user_id=owners[r[1]],
                kind=kind,
                title=f"Case {what.format(metric=SlaMetric(r[2]).label.lower())}",
                body=f"Due {_iso(r[3])[:16].replace('T', ' ')} UTC",
                url=f"/cases/{r[4]}/",
            )
            for r in rows
            if r[1] in owners
        ]
    )


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""
