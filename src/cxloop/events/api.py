"""/api/v1 routes for customer events and their registered types."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Body, Query, Router, Status
from pydantic import ValidationError as PydanticValidationError

from cxloop.api.auth import actor_of
from cxloop.core.bulk import collector_paused
from cxloop.core.errors import ValidationError
from cxloop.core.pagination import paginate
from cxloop.customers import queries as customer_queries
from cxloop.events import queries, services
from cxloop.events.schemas import (
    EventBatchIn,
    EventBatchOut,
    EventFilter,
    EventIn,
    EventOut,
    EventPage,
    EventTypeIn,
    EventTypeOut,
    EventTypeUpdate,
    events_request_body,
)
from cxloop.events.types import CustomerRef, EventInput, EventTypeInput

router = Router(tags=["events"])


@router.get("/event-types", response=list[EventTypeOut], summary="Registered event types")
def list_event_types(request: HttpRequest) -> list[EventTypeOut]:
    return [EventTypeOut.from_model(t) for t in queries.event_types(actor_of(request))]


@router.post("/event-types", response={201: EventTypeOut}, summary="Register an event type")
def create_event_type(request: HttpRequest, payload: EventTypeIn) -> Status[Any]:
    data = EventTypeInput(**payload.model_dump())
    return Status(201, EventTypeOut.from_model(services.create_event_type(actor_of(request), data)))


@router.get("/event-types/{key}", response=EventTypeOut)
def get_event_type(request: HttpRequest, key: str) -> EventTypeOut:
    return EventTypeOut.from_model(queries.get_event_type(actor_of(request), key))


@router.put("/event-types/{key}", response=EventTypeOut, summary="Change an event type (not its key)")
def update_event_type(request: HttpRequest, key: str, payload: EventTypeUpdate) -> EventTypeOut:
    data = EventTypeInput(key=key, **payload.model_dump())
    return EventTypeOut.from_model(services.update_event_type(actor_of(request), key, data))


def _schema_errors(exc: PydanticValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".") or "event"
        fields.setdefault(key, str(error["msg"]).removeprefix("Value error, "))
    return fields


def _parse(raw: Any) -> EventInput | ValidationError:
    """One event of the body, or the 422 naming each bad field (the batch goes on without it)."""
    try:
        payload = EventIn.model_validate(raw)
    except PydanticValidationError as exc:
        return ValidationError("The event is not valid.", fields=_schema_errors(exc))
    occurred_at = None
    if payload.occurred_at is not None:
        try:
            occurred_at = datetime.fromisoformat(payload.occurred_at)
        except ValueError:
            return ValidationError(
                "The event is not valid.", fields={"occurred_at": "must be an ISO 8601 time, e.g. 2026-01-31T09:00:00Z"}
            )
    c = payload.customer
    return EventInput(
        event_id=payload.event_id,
        type=payload.type,
        customer=CustomerRef(
            id=c.id,
            email=c.email,
            phone=c.phone,
            region=c.region,
            external_id=c.external_id,
            network=c.network,
            anonymous_id=c.anonymous_id,
            name=c.name,
        ),
        occurred_at=occurred_at,
        properties=payload.properties,
    )


def _out(index: int, result: services.EventResult | None, error: ValidationError | None = None) -> dict[str, Any]:
    """One result, shaped as EventResultOut (the same keys in the same order).

    A plain dict, rendered with the batch by one json.dumps: building and dumping 1,000 pydantic models cost a
    tenth of the request's CPU time (bench/events.py); every value here is already a str, int, bool or None.
    """
    failure = error or (result.error if result is not None else None)
    if failure is not None or result is None:
        assert failure is not None
        return {
            "index": index,
            "status": "error",
            "event": None,
            "customer": None,
            "customer_created": False,
            "interaction": None,
            "error": {"code": failure.code, "message": failure.message, "fields": dict(failure.fields)},
        }
    return {
        "index": index,
        "status": result.status,
        "event": result.event_public_id or None,
        "customer": result.customer_id or None,
        "customer_created": result.customer_created,
        "interaction": result.interaction_id or None,
        "error": None,
    }


@router.post(
    "/events",
    response={200: EventBatchOut, 201: EventBatchOut},
    summary="Send customer events",
    openapi_extra=events_request_body(),
)
def ingest_events(request: HttpRequest, payload: Body[dict[str, Any]]) -> HttpResponse:
    """One event (the body is the event) or a batch ({"events": [...]}, up to 1,000). Each event gets a result:
    "stored", "duplicate" or "error" with the path of each bad field; the valid ones are stored either way.
    201 when the body was one event and it was stored, 200 otherwise."""
    # A batch's thousands of objects (events read, checked, resolved, their results) would be traversed by full
    # collections of the cyclic collector (0.1 s each here) while they live; they hold no cycles, so it pauses
    # for the request, as it does for the service (core.bulk.collector_paused).
    with collector_paused():
        return _ingest_response(request, payload)


def _ingest_response(request: HttpRequest, payload: dict[str, Any]) -> HttpResponse:
    single = "events" not in payload
    if single:
        raw_events: list[Any] = [payload]
    else:
        try:
            raw_events = EventBatchIn.model_validate(payload).events
        except PydanticValidationError as exc:
            raise ValidationError("The batch is not valid.", fields=_schema_errors(exc)) from None
    parsed = [_parse(raw) for raw in raw_events]
    valid = [(index, p) for index, p in enumerate(parsed) if isinstance(p, EventInput)]
    results = services.ingest_events(actor_of(request), [p for _, p in valid])
    by_index = {index: result for (index, _), result in zip(valid, results, strict=True)}
    outs = [
        _out(index, by_index.get(index), p if isinstance(p, ValidationError) else None)
        for index, p in enumerate(parsed)
    ]
    if single and outs[0]["error"] is not None:
        error = outs[0]["error"]
        raise ValidationError(error["message"], fields=error["fields"], code=error["code"])
    stored = sum(o["status"] == "stored" for o in outs)
    body = {
        "stored": stored,
        "duplicates": sum(o["status"] == "duplicate" for o in outs),
        "failed": sum(o["status"] == "error" for o in outs),
        "results": outs,
    }
    # EventBatchOut's shape, rendered as ninja's JSON renderer would (json.dumps, the same content type),
    # without validating and dumping it again: see _out.
    return HttpResponse(
        json.dumps(body), status=201 if single and stored else 200, content_type="application/json; charset=utf-8"
    )


@router.get("/events/{event_id}", response=EventOut, summary="A stored customer event")
def get_event(request: HttpRequest, event_id: str) -> EventOut:
    return EventOut.from_model(queries.get_event(actor_of(request), event_id))


@router.get("/customers/{customer_id}/events", response=EventPage, summary="A customer's events, newest first")
def customer_events(request: HttpRequest, customer_id: str, filters: Query[EventFilter]) -> EventPage:
    actor = actor_of(request)
    customer = customer_queries.get_customer(actor, customer_id)
    qs = queries.customer_events(actor, customer, type_key=filters.type, since=filters.since, until=filters.until)
    page = paginate(qs, ("-occurred_at", "-id"), filters.cursor, filters.limit)
    return EventPage(items=[EventOut.from_model(e) for e in page.items], next_cursor=page.next_cursor)
