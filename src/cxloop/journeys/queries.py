"""Reads of journeys: the list, one journey with its versions, its enrolments (filtered, cursor-paginated), one
enrolment with its history, a customer's enrolments. Every read takes the actor and needs journeys.view.

A journey is named by its key or its public id (jny_…); an enrolment by its public id (enr_…).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Case, Q, QuerySet, Value, When

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.journeys.documents import example_names, example_text, load_example, validate_journey
from cxloop.journeys.dry_run import DryRun, DryRunEvent, dry_run
from cxloop.journeys.elements import JourneyDocument
from cxloop.journeys.models import Enrolment, EnrolmentState, EnrolmentStep, Journey, JourneyStatus, JourneyVersion

TRIGGER_KINDS = ("event", "segment", "date_attribute", "manual")


@dataclass(frozen=True)
class JourneyFilters:
    status: str = ""
    trigger_kind: str = ""
    text: str = ""


@dataclass(frozen=True)
class EnrolmentFilters:
    state: str = ""
    step: str = ""
    version: int | None = None
    customer_id: int | None = None


def _check_journey_filters(filters: JourneyFilters) -> None:
    errors: dict[str, str] = {}
    if filters.status and filters.status not in JourneyStatus.values:
        errors["status"] = f"must be one of {', '.join(JourneyStatus.values)}"
    if filters.trigger_kind and filters.trigger_kind not in TRIGGER_KINDS:
        errors["trigger"] = f"must be one of {', '.join(TRIGGER_KINDS)}"
    if len(filters.text) > 200:
        errors["q"] = "at most 200 characters"
    if errors:
        raise ValidationError("Invalid filter.", fields=errors)


def _journeys(filters: JourneyFilters) -> QuerySet[Journey]:
    qs = Journey.objects.select_related("current_version")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.trigger_kind:
        qs = qs.filter(trigger_kind=filters.trigger_kind)
    if text := filters.text.strip():
        qs = qs.filter(Q(name__icontains=text) | Q(key__icontains=text))
    return qs


def list_journeys(
    actor: Actor, filters: JourneyFilters | None = None, *, cursor: str | None = None, limit: int = 50
) -> Page[Journey]:
    """Journeys by name (archived ones only when asked for by status)."""
    actor.require(Perm.JOURNEYS_VIEW)
    filters = filters or JourneyFilters()
    _check_journey_filters(filters)
    qs = _journeys(filters)
    if not filters.status:
        qs = qs.exclude(status=JourneyStatus.ARCHIVED)
    return paginate(qs, ("name", "id"), cursor, limit)


def get_journey(actor: Actor, key: str) -> Journey:
    actor.require(Perm.JOURNEYS_VIEW)
    where = Q(public_id=key) if key.startswith("jny_") else Q(key=key)
    journey = Journey.objects.select_related("current_version", "created_by").filter(where).first()
    if journey is None:
        raise NotFoundError(f"No journey {key}.", code="journey_not_found")
    return journey


def versions_of(actor: Actor, journey: Journey) -> list[JourneyVersion]:
    """Newest first."""
    actor.require(Perm.JOURNEYS_VIEW)
    return list(JourneyVersion.objects.filter(journey=journey).select_related("created_by").order_by("-number"))


def get_version(actor: Actor, journey: Journey, number: int) -> JourneyVersion:
    actor.require(Perm.JOURNEYS_VIEW)
    version = JourneyVersion.objects.filter(journey=journey, number=number).select_related("created_by").first()
    if version is None:
        raise NotFoundError(f"{journey.key} has no version {number}.", code="version_not_found")
    return version


def document_of(version: JourneyVersion) -> JourneyDocument:
    """The typed document of a stored version (stored documents were validated when written)."""
    return validate_journey(version.document)


@dataclass(frozen=True)
class Example:
    name: str
    document: JourneyDocument
    source: str


def list_examples(actor: Actor) -> list[Example]:
    """The ready-made journeys shipped with cxloop, with their text as shipped (comments included)."""
    actor.require(Perm.JOURNEYS_VIEW)
    return [Example(name, load_example(name), example_text(name)) for name in example_names()]


def get_example(actor: Actor, name: str) -> Example:
    actor.require(Perm.JOURNEYS_VIEW)
    if name not in example_names():
        raise NotFoundError(f"No example journey {name}.", code="example_not_found")
    return Example(name, load_example(name), example_text(name))


def active_journeys(actor: Actor) -> list[Journey]:
    """Journeys one may enrol a customer in now (the "Enrol in…" pickers)."""
    actor.require(Perm.JOURNEYS_VIEW)
    return list(Journey.objects.filter(status=JourneyStatus.ACTIVE).order_by("name", "id"))


def _check_enrolment_filters(filters: EnrolmentFilters) -> None:
    errors: dict[str, str] = {}
    if filters.state and filters.state not in EnrolmentState.values:
        errors["state"] = f"must be one of {', '.join(EnrolmentState.values)}"
    if len(filters.step) > 100:
        errors["step"] = "at most 100 characters"
    if filters.version is not None and filters.version < 1:
        errors["version"] = "a version number (1 or more)"
    if errors:
        raise ValidationError("Invalid filter.", fields=errors)


def list_enrolments(
    actor: Actor,
    journey: Journey,
    filters: EnrolmentFilters | None = None,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Enrolment]:
    """The journey's enrolments, newest first."""
    actor.require(Perm.JOURNEYS_VIEW)
    filters = filters or EnrolmentFilters()
    _check_enrolment_filters(filters)
    qs = Enrolment.objects.filter(journey=journey).select_related("customer", "version", "journey")
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.step:
        qs = qs.filter(step=filters.step)
    if filters.version is not None:
        qs = qs.filter(version__number=filters.version)
    if filters.customer_id is not None:
        qs = qs.filter(customer_id=filters.customer_id)
    return paginate(qs, ("-id",), cursor, limit)


def get_enrolment(actor: Actor, public_id: str, *, journey: Journey | None = None) -> Enrolment:
    actor.require(Perm.JOURNEYS_VIEW)
    qs = Enrolment.objects.select_related("customer", "version", "journey").filter(public_id=public_id)
    if journey is not None:
        qs = qs.filter(journey=journey)
    enrolment = qs.first()
    if enrolment is None:
        raise NotFoundError(f"No enrolment {public_id}.", code="enrolment_not_found")
    return enrolment


def history_of(actor: Actor, enrolment: Enrolment) -> list[EnrolmentStep]:
    """Which step, when and why, in the order it happened."""
    actor.require(Perm.JOURNEYS_VIEW)
    return list(EnrolmentStep.objects.filter(enrolment=enrolment).order_by("seq"))


def enrolments_of_customer(actor: Actor, customer_id: int, *, limit: int = 20) -> list[Enrolment]:
    """A customer's enrolments, the running ones first, then the newest (the customer page's panel)."""
    actor.require(Perm.JOURNEYS_VIEW)
    running_first = Case(When(state=EnrolmentState.ACTIVE, then=Value(0)), default=Value(1))
    qs = Enrolment.objects.filter(customer_id=customer_id).select_related("journey", "version")
    return list(qs.order_by(running_first, "-id")[:limit])


def dry_run_journey(
    actor: Actor,
    journey: Journey,
    customer: Customer,
    *,
    events: Sequence[Mapping[str, Any]] = (),
    start: datetime | None = None,
    source: str | None = None,
    syntax: str = "yaml",
) -> DryRun:
    """The path `customer` would take through the journey (its current document, or `source` when given, say an
    unsaved edit), with the time of each step and why; nothing is written and nothing is sent. An event without
    a time happens when the customer enters."""
    actor.require(Perm.JOURNEYS_VIEW)
    from cxloop.journeys.services import parse_source  # the same checks as saving, so the errors read the same

    if source is not None:
        document = parse_source(source, syntax)
    elif journey.current_version is not None:
        document = document_of(journey.current_version)
    else:
        raise ValidationError("The journey has no document yet.", fields={"source": "required"})
    now = clock.now()
    begin = _imaginable(start, "start", now) or now
    imagined = [
        DryRunEvent(
            type=str(e["type"]),
            at=_imaginable(e.get("at"), f"events[{n}].at", now) or begin,
            properties=dict(e.get("properties") or {}),
        )
        for n, e in enumerate(events)
    ]
    try:
        return dry_run(document, customer, events=imagined, start=begin)
    except OverflowError:  # waits that add up past the year 9999
        raise ValidationError(
            "The path runs past the year 9999.", fields={"start": "choose an earlier start"}
        ) from None


DRY_RUN_YEARS = 50


def _imaginable(moment: datetime | None, field: str, now: datetime) -> datetime | None:
    """A dry run's time in UTC, within DRY_RUN_YEARS of now: further out, a path's waits leave the calendar."""
    moment = clock.storable_utc(moment, field)
    if moment is not None and abs((moment - now).days) > DRY_RUN_YEARS * 366:
        raise ValidationError(
            "That time is too far away.", fields={field: f"must be within {DRY_RUN_YEARS} years of now"}
        )
    return moment
