"""The one place that reads the time, so tests and benchmarks can reason about it."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from functools import cache

from django.conf import settings
from django.utils import timezone

from cxloop.core.errors import ValidationError

OUT_OF_RANGE = "must fall within the years 1 to 9999 in UTC"


def now() -> datetime:
    return timezone.now() + _offset()


@cache
def _offset() -> timedelta:
    """CXLOOP_CLOCK_OFFSET (seconds) moves this process's clock forward, for tests that run a real `cxloop worker`
    through days of journey waits. Honoured only with DEBUG on, so a production clock can never be moved."""
    raw = os.environ.get("CXLOOP_CLOCK_OFFSET", "").strip()
    if not raw or not settings.DEBUG:
        return timedelta(0)
    return timedelta(seconds=float(raw))


def is_storable(moment: datetime) -> bool:
    """Whether `moment` has a UTC form within years 1..9999.

    Databases keep and compare datetimes in UTC; 0001-01-01T00:00+01:00 has none, and SQLite's adapter
    fails on it with OverflowError (a 500) while PostgreSQL stores year 0.
    """
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return False
    return True


def storable_utc(moment: datetime | None, field: str) -> datetime | None:
    """`moment` in UTC, or a 422 naming `field` when it has no UTC form (see is_storable).

    Normalising matters beyond the range: ISO 8601 allows offsets up to ±23:59, PostgreSQL only ±15:59
    ("time zone displacement out of range"), while the same moment in UTC is fine everywhere.
    """
    if moment is None:
        return None
    if not is_storable(moment):
        raise ValidationError(f"{field}: {OUT_OF_RANGE}", fields={field: OUT_OF_RANGE})
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment
