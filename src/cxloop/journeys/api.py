"""/api/v1/journeys: write journeys as documents (YAML or JSON), publish versions, change their status, read their
analytics and enrolments, enrol a customer by hand or take one out, try a journey on a sample customer (dry run),
and install the shipped examples.

A journey is named by its key or its id (jny_…). A document is sent as text (`source`, with `syntax` yaml or
json; comments are kept) or as a JSON object (`document`). A document that is not valid answers 422 with one entry
per path (`steps[3].next`; `document` for a syntax error). A status change the journey's status does not allow
answers 409 `journey_not_active`.
"""

from __future__ import annotations

import json

from django.http import HttpRequest
from ninja import Query, Router, Status

from cxloop.api.auth import actor_of
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.journeys import analytics, queries, services
from cxloop.journeys.schemas import (
    AnalyticsFilter,
    AnalyticsOut,
    DryRunCreate,
    DryRunOut,
    EnrolmentCreate,
    EnrolmentDetailOut,
    EnrolmentFilter,
    EnrolmentOut,
    EnrolmentPage,
    EnrolmentRemove,
    ExampleOut,
    JourneyDetailOut,
    JourneyFilter,
    JourneyOut,
    JourneyPage,
    JourneySource,
    VersionCreate,
    VersionDetailOut,
)

router = Router(tags=["journeys"])


def _source(payload: JourneySource) -> tuple[str, str]:
    """(text, syntax) from a body that has either `source` or `document`."""
    if payload.document is not None and payload.source is not None:
        raise ValidationError("Send either source or document.", fields={"document": "not with source"})
    if payload.document is not None:
        return json.dumps(payload.document, indent=2, ensure_ascii=False), "json"
    if payload.source is None:
        raise ValidationError("The document is missing.", fields={"source": "required (or document)"})
    return payload.source, payload.syntax


def _customer(actor: Actor, public_id: str) -> Customer:
    try:
        return customer_queries.get_customer(actor, public_id)
    except NotFoundError:
        raise ValidationError("No such customer.", fields={"customer": "unknown customer"}) from None


def _detail(actor: Actor, key: str) -> JourneyDetailOut:
    journey = queries.get_journey(actor, key)
    return JourneyDetailOut.of_detail(journey, queries.versions_of(actor, journey))


def _example(example: queries.Example) -> ExampleOut:
    document = example.document
    return ExampleOut(
        name=example.name,
        key=document.key,
        title=document.name,
        description=document.description,
        source=example.source,
    )


# --- examples (before /journeys/{journey_id}, so "examples" is not read as a journey) --------------------------------


@router.get("/journeys/examples", response=list[ExampleOut], summary="The ready-made journeys shipped with cxloop")
def list_examples(request: HttpRequest) -> list[ExampleOut]:
    return [_example(example) for example in queries.list_examples(actor_of(request))]


@router.get("/journeys/examples/{name}", response=ExampleOut, summary="One example with its text")
def get_example(request: HttpRequest, name: str) -> ExampleOut:
    return _example(queries.get_example(actor_of(request), name))


@router.post(
    "/journeys/examples/{name}/install", response={201: JourneyDetailOut}, summary="An example as an editable draft"
)
def install_example(request: HttpRequest, name: str) -> Status[JourneyDetailOut]:
    actor = actor_of(request)
    journey = services.install_example(actor, name)
    return Status(201, _detail(actor, journey.key))


# --- journeys -----------------------------------------------------------------------------------------------------


@router.get("/journeys", response=JourneyPage, summary="Journeys by name, with entered, in journey and goal rate")
def list_journeys(request: HttpRequest, filters: Query[JourneyFilter]) -> JourneyPage:
    actor = actor_of(request)
    page = queries.list_journeys(
        actor,
        queries.JourneyFilters(status=filters.status, trigger_kind=filters.trigger, text=filters.q),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    figures = analytics.summaries(actor, [j.pk for j in page.items])
    return JourneyPage(items=[JourneyOut.of(j, figures[j.pk]) for j in page.items], next_cursor=page.next_cursor)


@router.post("/journeys", response={201: JourneyDetailOut}, summary="Create a journey from its document (a draft)")
def create_journey(request: HttpRequest, payload: JourneySource) -> Status[JourneyDetailOut]:
    actor = actor_of(request)
    source, syntax = _source(payload)
    journey = services.create_journey(actor, source, syntax=syntax)
    return Status(201, _detail(actor, journey.key))


@router.get("/journeys/{journey_id}", response=JourneyDetailOut, summary="A journey: its current document, versions")
def get_journey(request: HttpRequest, journey_id: str) -> JourneyDetailOut:
    return _detail(actor_of(request), journey_id)


@router.post(
    "/journeys/{journey_id}/duplicate",
    response={201: JourneyDetailOut},
    summary="A new draft journey from this one's current document (key <key>-copy, name Copy of …)",
)
def duplicate_journey(request: HttpRequest, journey_id: str) -> Status[JourneyDetailOut]:
    actor = actor_of(request)
    copy = services.duplicate_journey(actor, queries.get_journey(actor, journey_id))
    return Status(201, _detail(actor, copy.key))


@router.post(
    "/journeys/{journey_id}/versions", response={201: VersionDetailOut}, summary="Publish a new version (current)"
)
def publish_version(request: HttpRequest, journey_id: str, payload: VersionCreate) -> Status[VersionDetailOut]:
    actor = actor_of(request)
    source, syntax = _source(payload)
    journey = queries.get_journey(actor, journey_id)
    version = services.publish_version(actor, journey, source, syntax=syntax, note=payload.note)
    return Status(201, VersionDetailOut.of(version))


@router.get("/journeys/{journey_id}/versions/{number}", response=VersionDetailOut, summary="One version's document")
def get_version(request: HttpRequest, journey_id: str, number: int) -> VersionDetailOut:
    actor = actor_of(request)
    return VersionDetailOut.of(queries.get_version(actor, queries.get_journey(actor, journey_id), number))


@router.post("/journeys/{journey_id}/activate", response=JourneyOut, summary="A draft starts enrolling")
def activate_journey(request: HttpRequest, journey_id: str) -> JourneyOut:
    actor = actor_of(request)
    return JourneyOut.of(services.activate_journey(actor, queries.get_journey(actor, journey_id)))


@router.post("/journeys/{journey_id}/pause", response=JourneyOut, summary="No new enrolments; timers wait")
def pause_journey(request: HttpRequest, journey_id: str) -> JourneyOut:
    actor = actor_of(request)
    return JourneyOut.of(services.pause_journey(actor, queries.get_journey(actor, journey_id)))


@router.post("/journeys/{journey_id}/resume", response=JourneyOut, summary="A paused journey runs again")
def resume_journey(request: HttpRequest, journey_id: str) -> JourneyOut:
    actor = actor_of(request)
    return JourneyOut.of(services.resume_journey(actor, queries.get_journey(actor, journey_id)))


@router.post("/journeys/{journey_id}/archive", response=JourneyOut, summary="Finish it; running enrolments exit")
def archive_journey(request: HttpRequest, journey_id: str) -> JourneyOut:
    actor = actor_of(request)
    return JourneyOut.of(services.archive_journey(actor, queries.get_journey(actor, journey_id)))


@router.get("/journeys/{journey_id}/analytics", response=AnalyticsOut, summary="Entered, per step, goal, exits")
def journey_analytics(request: HttpRequest, journey_id: str, filters: Query[AnalyticsFilter]) -> AnalyticsOut:
    actor = actor_of(request)
    journey = queries.get_journey(actor, journey_id)
    version = queries.get_version(actor, journey, filters.version) if filters.version else journey.current_version
    order = [str(step["id"]) for step in version.document.get("steps", [])] if version else []
    figures = analytics.journey_analytics(actor, journey, version=filters.version, days=filters.days)
    return AnalyticsOut.of(figures, order, analytics.by_version(actor, journey))


# --- enrolments ---------------------------------------------------------------------------------------------------


@router.get("/journeys/{journey_id}/enrolments", response=EnrolmentPage, summary="Enrolments, newest first")
def list_enrolments(request: HttpRequest, journey_id: str, filters: Query[EnrolmentFilter]) -> EnrolmentPage:
    actor = actor_of(request)
    page = queries.list_enrolments(
        actor,
        queries.get_journey(actor, journey_id),
        queries.EnrolmentFilters(state=filters.state, step=filters.step, version=filters.version),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return EnrolmentPage(items=[EnrolmentOut.of(e) for e in page.items], next_cursor=page.next_cursor)


@router.post(
    "/journeys/{journey_id}/enrolments", response={201: EnrolmentDetailOut}, summary="Enrol a customer by hand"
)
def enrol_customer(request: HttpRequest, journey_id: str, payload: EnrolmentCreate) -> Status[EnrolmentDetailOut]:
    actor = actor_of(request)
    journey = queries.get_journey(actor, journey_id)
    enrolment = services.enrol_manually(actor, journey, _customer(actor, payload.customer), context=payload.context)
    return Status(201, EnrolmentDetailOut.of_detail(enrolment, queries.history_of(actor, enrolment)))


@router.get(
    "/journeys/{journey_id}/enrolments/{enrolment_id}", response=EnrolmentDetailOut, summary="One, with its history"
)
def get_enrolment(request: HttpRequest, journey_id: str, enrolment_id: str) -> EnrolmentDetailOut:
    actor = actor_of(request)
    enrolment = queries.get_enrolment(actor, enrolment_id, journey=queries.get_journey(actor, journey_id))
    return EnrolmentDetailOut.of_detail(enrolment, queries.history_of(actor, enrolment))


@router.post(
    "/journeys/{journey_id}/enrolments/{enrolment_id}/remove",
    response=EnrolmentDetailOut,
    summary="Take the customer out of the journey",
)
def remove_enrolment(
    request: HttpRequest, journey_id: str, enrolment_id: str, payload: EnrolmentRemove
) -> EnrolmentDetailOut:
    actor = actor_of(request)
    enrolment = queries.get_enrolment(actor, enrolment_id, journey=queries.get_journey(actor, journey_id))
    enrolment = services.remove_enrolment(actor, enrolment, reason=payload.reason)
    return EnrolmentDetailOut.of_detail(enrolment, queries.history_of(actor, enrolment))


# --- dry run ------------------------------------------------------------------------------------------------------


@router.post("/journeys/{journey_id}/dry-run", response=DryRunOut, summary="The path a sample customer would take")
def dry_run(request: HttpRequest, journey_id: str, payload: DryRunCreate) -> DryRunOut:
    actor = actor_of(request)
    journey = queries.get_journey(actor, journey_id)
    result = queries.dry_run_journey(
        actor,
        journey,
        _customer(actor, payload.customer),
        events=[e.model_dump() for e in payload.events],
        start=payload.start,
        source=payload.source,
        syntax=payload.syntax,
    )
    return DryRunOut.of(result)
