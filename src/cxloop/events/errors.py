"""Business errors of customer-event ingestion (rendered by the API as {"error": {"code", "message", "fields"}})."""

from __future__ import annotations

from cxloop.core.errors import ConflictError, ValidationError


class InvalidSchemaError(ValidationError):
    """An event type's properties schema that is not itself a valid JSON Schema."""

    code = "invalid_schema"


class UnknownEventTypeError(ValidationError):
    code = "unknown_event_type"


class PropertiesInvalidError(ValidationError):
    """Properties that break their type's schema; `fields` holds the JSON path of each error."""

    code = "properties_invalid"


class EventTypeExistsError(ConflictError):
    code = "event_type_exists"
