"""API shapes of customer events and event types.

The shapes of the batch endpoint (an event, its result) are plain pydantic models, not ninja Schemas: a Schema
wraps every object it validates in a getter made for Django models, which cost about half of a 1,000-event
request's time (bench/events.py); these shapes only ever hold plain data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import BaseModel, Field

from cxloop.events.models import Event, EventType


class EventTypeIn(Schema):
    key: str = Field(max_length=100, description='e.g. "purchase.completed"; fixed once created')
    name: str = Field(max_length=200)
    description: str = ""
    properties_schema: dict[str, Any] = Field(default_factory=dict, description="JSON Schema of the properties")
    show_on_timeline: bool = False
    is_active: bool = True


class EventTypeUpdate(Schema):
    name: str = Field(max_length=200)
    description: str = ""
    properties_schema: dict[str, Any] = Field(default_factory=dict)
    show_on_timeline: bool = False
    is_active: bool = True


class EventTypeOut(Schema):
    key: str
    name: str
    description: str
    properties_schema: dict[str, Any]
    show_on_timeline: bool
    is_active: bool

    @classmethod
    def from_model(cls, t: EventType) -> EventTypeOut:
        return cls(
            key=t.key,
            name=t.name,
            description=t.description,
            properties_schema=t.properties_schema,
            show_on_timeline=t.show_on_timeline,
            is_active=t.is_active,
        )


class CustomerRefIn(BaseModel):
    id: str = Field(default="", max_length=32, description="A cxloop customer id (cus_…)")
    email: str = Field(default="", max_length=320)
    phone: str = Field(default="", max_length=64)
    region: str | None = Field(default=None, max_length=2, description="Region of a phone number without +")
    external_id: str = Field(default="", max_length=255)
    network: str = Field(default="", max_length=50, description='The system an external_id belongs to ("shopify")')
    anonymous_id: str = Field(default="", max_length=255)
    name: str = Field(default="", max_length=200)


class EventIn(BaseModel):
    event_id: str = Field(description="The sender's id of the event; a resend with the same id changes nothing")
    type: str
    customer: CustomerRefIn
    occurred_at: str | None = Field(default=None, description="ISO 8601 with an offset; now when left out")
    properties: dict[str, Any] = Field(default_factory=dict)


class EventBatchIn(BaseModel):
    # Any JSON value per element: an element that is not an object is that event's error, not the batch's.
    events: list[Any] = Field(
        min_length=1,
        max_length=1000,
        description="Up to 1,000 events, each shaped like EventIn; each is checked on its own.",
    )


class EventError(BaseModel):
    code: str
    message: str
    fields: dict[str, str]


class EventResultOut(BaseModel):
    index: int
    status: str = Field(description='"stored", "duplicate" (its event_id was received before) or "error"')
    event: str | None = Field(description="Public id of the stored event")
    customer: str | None
    customer_created: bool
    interaction: str | None = Field(description="The timeline entry, for types shown on the timeline")
    error: EventError | None


class EventBatchOut(BaseModel):
    stored: int
    duplicates: int
    failed: int
    results: list[EventResultOut]


class EventOut(Schema):
    id: str
    event_id: str
    type: str
    customer: str
    occurred_at: str
    properties: dict[str, Any]
    interaction: str | None

    @classmethod
    def from_model(cls, e: Event) -> EventOut:
        return cls(
            id=e.public_id,
            event_id=e.event_id,
            type=e.event_type.key,
            customer=e.customer.public_id,
            occurred_at=e.occurred_at.isoformat(),
            properties=e.properties,
            interaction=e.interaction_ref or None,
        )


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None


class EventFilter(Schema):
    type: str = Field(default="", max_length=1000, description="One event type key or several, comma-separated")
    since: datetime | None = Field(default=None, description="Events that occurred at or after this time")
    until: datetime | None = Field(default=None, description="Events that occurred before this time")
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


def _inlined(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inlined(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
        return {key: _inlined(value, definitions) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inlined(value, definitions) for value in node]
    return node


def events_request_body() -> dict[str, Any]:
    """The OpenAPI request body of POST /events: the handler takes any JSON object (each event of a batch is
    checked on its own, so one bad event cannot refuse the rest), but integrators and fuzzers need the shape."""
    schema = EventIn.model_json_schema()
    event = _inlined(schema, schema.get("$defs", {}))
    batch = {
        "type": "object",
        "title": "EventBatchIn",
        "properties": {"events": {"type": "array", "items": event, "minItems": 1, "maxItems": 1000}},
        "required": ["events"],
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {"anyOf": [event, batch]}}}}}
