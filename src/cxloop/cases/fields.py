"""Custom case fields: values are checked against the admins' definitions before they are stored."""

from __future__ import annotations

from datetime import date
from typing import Any

from cxloop.cases.models import CaseFieldDefinition, CaseFieldType
from cxloop.core.errors import ValidationError

TEXT_MAX = 2000


def _coerce(definition: CaseFieldDefinition, value: Any) -> tuple[Any, str]:
    """The stored form of `value`, or an error reason."""
    kind = definition.type
    if kind == CaseFieldType.TEXT:
        if not isinstance(value, str):
            return None, "must be text"
        return (value.strip(), "") if len(value) <= TEXT_MAX else (None, f"at most {TEXT_MAX} characters")
    if kind == CaseFieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "must be a number"
        return value, ""
    if kind == CaseFieldType.BOOLEAN:
        return (value, "") if isinstance(value, bool) else (None, "must be true or false")
    if kind == CaseFieldType.DATE:
        try:
            return date.fromisoformat(str(value)).isoformat(), ""
        except ValueError:
            return None, "must be a date (YYYY-MM-DD)"
    if kind == CaseFieldType.CHOICE:
        choices = [str(c) for c in definition.choices]
        return (value, "") if value in choices else (None, f"must be one of {', '.join(choices)}")
    return None, "has an unknown type"


def check_custom_fields(values: dict[str, Any]) -> dict[str, Any]:
    """`values` in stored form; null or "" removes a field. Unknown keys and wrong values are refused."""
    if not values:
        return {}
    definitions = {d.key: d for d in CaseFieldDefinition.objects.filter(key__in=list(values))}
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors[f"custom_fields.{key}"] = "no such field"
            continue
        if value is None or value == "":
            continue
        stored, reason = _coerce(definition, value)
        if reason:
            errors[f"custom_fields.{key}"] = reason
        else:
            cleaned[key] = stored
    if errors:
        raise ValidationError("Some case fields are not valid.", fields=errors)
    return cleaned


def missing_to_resolve(values: dict[str, Any]) -> list[str]:
    """Keys of the fields a case must have filled before it may be resolved."""
    required = CaseFieldDefinition.objects.filter(required_to_resolve=True).values_list("key", flat=True)
    return [key for key in required if values.get(key) in (None, "")]
