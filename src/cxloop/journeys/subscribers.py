"""What makes customers enter, wake and convert: customer events, date attributes, segments.

`on_customer_event` is subscribed to `customer_event.received` (apps.py). The events API stores up to 1,000
events a request and publishes one domain event for each, so the subscriber first asks an in-process set of
the event types any live journey cares about (its trigger, a wait of a version still running, its goal) and
returns at once for the others. The set is rebuilt when a journey is published or changes status, and at the
latest every RELEVANT_TTL seconds, since another process may have made that change.

For a relevant event it enrols (trigger_ref `event:<event_id>`, when the trigger's conditions hold), wakes
the customer's enrolments waiting for that type, and checks the goals that read it. Each is idempotent, which
lets `catch_up` (a periodic job) go over recently stored events again: an event whose subscriber never ran
(the process died between the commit and the delivery) is handled then.

Date attributes ("30 days before renewal") are swept periodically (`sweep_date_triggers`, trigger_ref
`date:<attribute>:<date>`); the built-in `activity.last` (the latest inbound interaction or customer event) is
computed by the sweep in one query, trigger_ref `inactive:<date>`, so a customer who comes back and goes silent
again can enter again (as the re-entry policy allows); segments call `on_segment_entered` once the insights
module has them.
"""

from __future__ import annotations

import logging
import time as monotonic
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from cxloop.core import clock
from cxloop.customers.models import Customer
from cxloop.events.bus import DomainEvent
from cxloop.journeys.conditions import ACTIVITY, EventFacts, evaluate, event_types_named, facts_for
from cxloop.journeys.elements import DateAttributeTrigger, EventTrigger, SegmentTrigger, WaitStep
from cxloop.journeys.engine import check_goal, document_for, runtime_actor, wake
from cxloop.journeys.enrolments import enrol
from cxloop.journeys.errors import AlreadyEnrolledError, JourneyNotActiveError
from cxloop.journeys.models import Enrolment, EnrolmentState, Journey, JourneyStatus, JourneyVersion
from cxloop.journeys.steps import customer_zone

logger = logging.getLogger(__name__)

RELEVANT_TTL = 30.0
CATCH_UP_WINDOW = timedelta(minutes=30)
DATE_SWEEP_DAYS = 2  # a date trigger missed while no worker ran still fires within this many days
LAST_ACTIVITY = "activity.last"  # the built-in date: the customer's latest inbound interaction or customer event


@dataclass
class Relevance:
    """Which event types matter to live journeys, and for what."""

    triggers: set[str] = field(default_factory=set)
    waits: set[str] = field(default_factory=set)
    goals: set[str] = field(default_factory=set)  # "*": some goal reads any event
    built_at: float = 0.0

    def cares(self, event_type: str) -> bool:
        return (
            event_type in self.triggers
            or event_type in self.waits
            or ACTIVITY in self.waits
            or ACTIVITY in self.goals
            or bool(self.goals & {event_type, "*"})
        )


_relevance: Relevance | None = None


def invalidate(_event: DomainEvent | None = None) -> None:
    """Forget the relevant types (a journey was published or changed status)."""
    global _relevance
    _relevance = None


def relevance() -> Relevance:
    global _relevance
    if _relevance is not None and monotonic.monotonic() - _relevance.built_at < RELEVANT_TTL:
        return _relevance
    found = Relevance(built_at=monotonic.monotonic())
    live = (JourneyStatus.ACTIVE, JourneyStatus.PAUSED)
    found.triggers = set(
        Journey.objects.filter(status=JourneyStatus.ACTIVE, trigger_kind="event").values_list(
            "trigger_event_type", flat=True
        )
    )
    versions = JourneyVersion.objects.filter(journey__status__in=live)
    for version in versions.only("pk", "document"):
        document = document_for(version)
        found.waits.update(s.event_type for s in document.steps if isinstance(s, WaitStep) and s.event_type)
        found.goals.update(event_types_named(document.goal))
    _relevance = found
    return found


def on_customer_event(event: DomainEvent) -> None:
    """The subscriber of customer_event.received (after commit): a set lookup for events nobody awaits."""
    if not relevance().cares(str(getattr(event, "type", ""))):
        return  # before payload(): it copies the properties
    handle_event(event.payload(), received_at=clock.now())


def handle_event(payload: dict[str, Any], *, received_at: datetime, now: datetime | None = None) -> dict[str, int]:
    """Enrol, wake and convert for one stored customer event; idempotent (safe to run again)."""
    now = now or clock.now()
    counts = {"enrolled": 0, "woken": 0, "goals": 0}
    seen = relevance()
    event_type = str(payload["type"])
    customer = Customer.objects.filter(public_id=payload["customer_id"]).first()
    if customer is None:
        return counts
    occurred = payload.get("occurred_at")
    facts_event = EventFacts(
        event_type,
        datetime.fromisoformat(occurred) if isinstance(occurred, str) else occurred,
        payload.get("properties") or {},
        str(payload.get("event_id", "")),
    )
    if event_type in seen.triggers:
        counts["enrolled"] = _enrol_by_event(customer, facts_event, now)
    if event_type in seen.waits:
        waiting = Enrolment.objects.filter(customer=customer, state=EnrolmentState.ACTIVE, waiting_for=event_type)
        for pk in waiting.values_list("pk", flat=True):
            counts["woken"] += wake(pk, facts_event, received_at=received_at, now=now)
    if ACTIVITY in seen.waits:
        activity = EventFacts(ACTIVITY, facts_event.at, facts_event.properties, facts_event.event_id)
        counts["woken"] += _wake_on_activity(customer, activity, received_at, now)
    if seen.goals & {event_type, "*", ACTIVITY}:
        counts["goals"] = _check_goals(customer, {event_type, "*", ACTIVITY}, seen, now)
    return counts


def _wake_on_activity(customer: Customer, activity: EventFacts, received_at: datetime, now: datetime) -> int:
    woken = 0
    waiting = Enrolment.objects.filter(customer=customer, state=EnrolmentState.ACTIVE, waiting_for=ACTIVITY)
    for pk in waiting.values_list("pk", flat=True):
        woken += wake(pk, activity, received_at=received_at, now=now)
    return woken


def on_interaction_recorded(event: DomainEvent) -> None:
    """The subscriber of interaction.recorded: a customer's own message or call wakes waits for `activity`."""
    if getattr(event, "direction", "") != "inbound" or getattr(event, "kind", "message") != "message":
        return
    seen = relevance()
    if ACTIVITY not in seen.waits and ACTIVITY not in seen.goals:
        return
    customer = Customer.objects.filter(public_id=str(getattr(event, "customer_id", ""))).first()
    if customer is None:
        return
    now = clock.now()
    channel = str(getattr(event, "channel", ""))
    activity = EventFacts(ACTIVITY, now, {"channel": channel}, str(getattr(event, "interaction_id", "")))
    if ACTIVITY in seen.waits:
        _wake_on_activity(customer, activity, now, now)
    if ACTIVITY in seen.goals:
        _check_goals(customer, {ACTIVITY, "*"}, seen, now)


def _enrol_by_event(customer: Customer, event: EventFacts, now: datetime) -> int:
    enrolled = 0
    journeys = Journey.objects.filter(
        status=JourneyStatus.ACTIVE, trigger_kind="event", trigger_event_type=event.type
    ).select_related("current_version")
    for journey in journeys:
        if journey.current_version is None:
            continue
        trigger = document_for(journey.current_version).trigger
        assert isinstance(trigger, EventTrigger)
        ref = f"event:{event.event_id}"
        if Enrolment.objects.filter(journey=journey, trigger_ref=ref).exists():
            continue  # handled before (the catch-up goes over events again)
        facts = facts_for(customer, now=now, event=event)
        if trigger.conditions is not None and not evaluate(trigger.conditions, facts).holds:
            continue
        try:
            enrol(
                runtime_actor(), journey, customer, trigger_ref=ref,
                context={"event": event.as_context()}, now=now,
            )  # fmt: skip
            enrolled += 1
        except (AlreadyEnrolledError, JourneyNotActiveError):
            continue
    return enrolled


def _check_goals(customer: Customer, names: set[str], seen: Relevance, now: datetime) -> int:
    reached = 0
    running = Enrolment.objects.filter(customer=customer, state=EnrolmentState.ACTIVE).select_related("version")
    for enrolment in running:
        goal = document_for(enrolment.version).goal
        if goal is not None and event_types_named(goal) & names:
            reached += check_goal(enrolment.pk, now=now)
    return reached


def catch_up(*, window: timedelta = CATCH_UP_WINDOW, now: datetime | None = None) -> dict[str, int]:
    """Handle again the relevant events stored in the last `window` (their subscriber may never have run)."""
    from cxloop.events.models import Event  # read-only: the events module owns the table

    now = now or clock.now()
    totals = {"events": 0, "enrolled": 0, "woken": 0, "goals": 0}
    seen = relevance()
    types = seen.triggers | seen.waits | ({"*"} if "*" in seen.goals else seen.goals)
    if not types:
        return totals
    rows = Event.objects.filter(created_at__gte=now - window).order_by("pk")
    if "*" not in types:
        rows = rows.filter(event_type__key__in=types)
    columns = ("event_id", "customer__public_id", "event_type__key", "occurred_at", "properties", "created_at")
    for event_id, customer_id, type_key, occurred_at, properties, created_at in rows.values_list(*columns):
        payload = {
            "event_id": event_id, "customer_id": customer_id, "type": type_key,
            "occurred_at": occurred_at.isoformat(), "properties": properties or {},
        }  # fmt: skip
        counts = handle_event(payload, received_at=created_at, now=now)
        totals["events"] += 1
        for key, value in counts.items():
            totals[key] += value
    return totals


def _as_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def sweep_date_triggers(*, now: datetime | None = None) -> int:
    """Enrol the customers whose date attribute plus the journey's offset has come (in their time zone).

    A date fires once per journey and date (trigger_ref `date:<attribute>:<date>`); one missed while no worker
    ran still fires within DATE_SWEEP_DAYS."""
    now = now or clock.now()
    enrolled = 0
    journeys = Journey.objects.filter(status=JourneyStatus.ACTIVE, trigger_kind="date_attribute")
    for journey in journeys.select_related("current_version"):
        if journey.current_version is None:
            continue
        trigger = document_for(journey.current_version).trigger
        assert isinstance(trigger, DateAttributeTrigger)
        today = now.astimezone(UTC).date()
        dates = [(today + timedelta(days=d)) - trigger.offset for d in range(-DATE_SWEEP_DAYS, 2)]
        if trigger.attribute == LAST_ACTIVITY:
            for customer, last in _last_active_on(dates):
                enrolled += _enrol_on_date(journey, trigger, customer, now, last)
            continue
        wanted = sorted({d.isoformat() for d in dates})  # dates kept as ISO text ("2026-03-01"), as attributes are
        for customer in Customer.objects.filter(**{f"attributes__{trigger.attribute}__in": wanted}):
            enrolled += _enrol_on_date(journey, trigger, customer, now)
    return enrolled


def _last_active_on(dates: Sequence[date]) -> list[tuple[Customer, date]]:
    """The customers whose latest activity (inbound interaction or customer event) fell on one of `dates`.

    One query: the latest of both per customer, bounded to the window (a day either side for time zones), so a
    customer active since is left out by the maximum, not by a loop."""
    from django.db.models import DateTimeField, OuterRef, Q, Subquery
    from django.db.models.functions import Coalesce, Greatest

    from cxloop.events.models import Event  # read-only: the events and interactions modules own these tables
    from cxloop.interactions.models import Interaction

    start = datetime.combine(min(dates) - timedelta(days=1), time(0, 0), tzinfo=UTC)
    end = datetime.combine(max(dates) + timedelta(days=2), time(0, 0), tzinfo=UTC)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    last_event = Subquery(
        Event.objects.filter(customer=OuterRef("pk")).order_by("-occurred_at").values("occurred_at")[:1],
        output_field=DateTimeField(),
    )
    last_inbound = Subquery(
        Interaction.objects.filter(customer=OuterRef("pk"), direction="inbound")
        .exclude(metadata__has_key="kind", metadata__kind__in=("auto_reply", "bounce"))  # a missing key is NULL
        .order_by("-occurred_at")
        .values("occurred_at")[:1],
        output_field=DateTimeField(),
    )
    # Only customers with some activity in the window can have their latest activity in it.
    inbound = Interaction.objects.filter(direction="inbound", occurred_at__gte=start, occurred_at__lt=end)
    stored = Event.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    recent = Q(pk__in=inbound.values("customer_id")) | Q(pk__in=stored.values("customer_id"))
    rows = (
        Customer.objects.filter(recent, merged_into=None)
        .annotate(last=Greatest(Coalesce(last_event, epoch), Coalesce(last_inbound, epoch)))
        .filter(last__gte=start, last__lt=end)
    )
    found: list[tuple[Customer, date]] = []
    for customer in rows:
        last: datetime = customer.last
        day = last.astimezone(customer_zone(customer)).date()
        if day in dates:
            found.append((customer, day))
    return found


def _enrol_on_date(
    journey: Journey, trigger: DateAttributeTrigger, customer: Customer, now: datetime, last: date | None = None
) -> int:
    value = last if last is not None else _as_date((customer.attributes or {}).get(trigger.attribute))
    if value is None:
        return 0
    zone = customer_zone(customer)
    fires = datetime.combine(value + trigger.offset, trigger.time_of_day or time(0, 0), tzinfo=zone)
    if not (fires <= now < fires + timedelta(days=DATE_SWEEP_DAYS)):
        return 0
    if trigger.conditions is not None and not evaluate(trigger.conditions, facts_for(customer, now=now)).holds:
        return 0
    ref = f"inactive:{value.isoformat()}" if last is not None else f"date:{trigger.attribute}:{value.isoformat()}"
    if Enrolment.objects.filter(journey=journey, trigger_ref=ref).exists():
        return 0
    try:
        enrol(runtime_actor(), journey, customer, trigger_ref=ref, context={"date": value.isoformat()}, now=now)
    except (AlreadyEnrolledError, JourneyNotActiveError):
        return 0
    return 1


def on_segment_entered(segment_key: str, customer_ids: Sequence[int], *, now: datetime | None = None) -> int:
    """Enrol customers who just entered a segment into the active journeys triggered by it; returns how many.

    For the insights module to call once segments exist (customer ids are primary keys). The trigger_ref is
    `segment:<key>:<customer>:<date>`: entering twice on one day enrols once; the re-entry policy decides the rest.
    """
    now = now or clock.now()
    enrolled = 0
    journeys = Journey.objects.filter(status=JourneyStatus.ACTIVE, trigger_kind="segment")
    targets = [
        j
        for j in journeys.select_related("current_version")
        if j.current_version is not None
        and isinstance(trigger := document_for(j.current_version).trigger, SegmentTrigger)
        and trigger.segment == segment_key
    ]
    if not targets:
        return 0
    for customer in Customer.objects.filter(pk__in=list(customer_ids)):
        for journey in targets:
            ref = f"segment:{segment_key}:{customer.pk}:{now.date().isoformat()}"
            if Enrolment.objects.filter(journey=journey, trigger_ref=ref).exists():
                continue
            try:
                enrol(runtime_actor(), journey, customer, trigger_ref=ref, context={"segment": segment_key}, now=now)
                enrolled += 1
            except (AlreadyEnrolledError, JourneyNotActiveError):
                continue
    return enrolled
