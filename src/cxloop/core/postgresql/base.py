"""Django's PostgreSQL backend, sending every aware datetime it adapts as the same moment in UTC.

ISO 8601 (and pydantic, which reads the API's input) allows UTC offsets up to ±23:59; PostgreSQL accepts only
±15:59 ("time zone displacement out of range"). Each filter, form and payload reaching a model field could
normalise its own values (clock.storable_utc does for several), but one missed field is a 500, and the API
fuzzer keeps finding the next one. Here every value a DateTimeField adapts (lookups, saves, bulk writes through
core.bulk) is converted once, for all of them; the moment is the same, so nothing stored or compared changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.backends.postgresql import base, operations

_ZERO = timedelta(0)


class DatabaseOperations(operations.DatabaseOperations):
    def adapt_datetimefield_value(self, value: Any) -> Any:
        value = super().adapt_datetimefield_value(value)
        if isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() != _ZERO:
            try:
                return value.astimezone(UTC)
            except OverflowError:  # no UTC form within years 1..9999: PostgreSQL refuses it as it would have
                return value
        return value


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
