"""Cursor (keyset) pagination: stable under inserts and fast at any depth, unlike OFFSET.

A cursor is an opaque, URL-safe token holding the ordering values of the last row of a page.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import models
from django.db.models import Q

from cxloop.core.errors import ValidationError

T = TypeVar("T", bound=models.Model)

MAX_LIMIT = 200


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _field_value(obj: models.Model, name: str) -> Any:
    value = getattr(obj, name)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("The cursor is not valid.", fields={"cursor": "malformed cursor"}) from exc
    # Cursors we issue hold one non-null scalar per ordering field; anything else was forged or damaged.
    if (
        not isinstance(values, list)
        or len(values) != expected
        or not all(isinstance(value, str | int | float) for value in values)
    ):
        raise ValidationError("The cursor is not valid.", fields={"cursor": "malformed cursor"})
    return values


def _after(model: type[models.Model], ordering: tuple[str, ...], values: list[Any]) -> Q:
    """Rows strictly after `values` in `ordering` (each field prefixed with '-' for descending)."""
    condition = Q()
    equal_so_far = Q()
    for name, raw in zip(ordering, values, strict=True):
        descending = name.startswith("-")
        field_name = name.lstrip("-")
        field = model._meta.get_field(field_name)
        try:
            value = field.to_python(raw)  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - any conversion failure means a forged cursor
            raise ValidationError("The cursor is not valid.", fields={"cursor": "malformed cursor"}) from exc
        lookup = f"{field_name}__lt" if descending else f"{field_name}__gt"
        condition |= equal_so_far & Q(**{lookup: value})
        equal_so_far &= Q(**{field_name: value})
    return condition


def paginate(queryset: models.QuerySet[T], ordering: tuple[str, ...], cursor: str | None, limit: int) -> Page[T]:
    """One page of `queryset` in `ordering`; the last ordering field must be unique (usually id)."""
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}.", fields={"limit": f"must be 1..{MAX_LIMIT}"})
    qs = queryset.order_by(*ordering)
    if cursor:
        qs = qs.filter(_after(queryset.model, ordering, decode_cursor(cursor, len(ordering))))
    rows = list(qs[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([_field_value(last, name.lstrip("-")) for name in ordering])
    return Page(items=rows, next_cursor=next_cursor)
