"""Custom attributes: admins define the fields, every write of customer.attributes is checked here."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from django.db import transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers.models import AttributeDefinition, AttributeType
from cxloop.privacy.services import record_audit

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_MAX_TEXT = 1000


def _coerce(definition: AttributeDefinition, value: Any) -> Any:
    """Return the stored form of `value`, or raise ValueError with the reason."""
    kind = definition.type
    if kind == AttributeType.TEXT:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValueError("must be text")
        text = str(value)
        if len(text) > _MAX_TEXT:
            raise ValueError(f"must be at most {_MAX_TEXT} characters")
        return text
    if kind == AttributeType.NUMBER:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        if isinstance(value, str):
            try:
                value = float(value) if any(c in value for c in ".eE") else int(value)
            except ValueError:
                raise ValueError("must be a number") from None
        # NaN and ±infinity are not numbers a person means, and JSON (hence the database) cannot hold them.
        if not isinstance(value, int | float) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError("must be a number")
        return value
    if kind == AttributeType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "yes", "no"}:
            return value.lower() in {"true", "yes"}
        raise ValueError("must be true or false")
    if kind == AttributeType.DATE:
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError("must be a date written YYYY-MM-DD") from None
    if str(value) not in definition.choices:
        raise ValueError(f"must be one of {', '.join(map(str, definition.choices))}")
    return str(value)


def validate_attributes(values: dict[str, Any], *, current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge `values` into `current`, checking each against its definition; None removes a key."""
    if not isinstance(values, dict):
        raise ValidationError("attributes must be an object", fields={"attributes": "must be an object"})
    definitions = {d.key: d for d in AttributeDefinition.objects.filter(key__in=list(values))}
    result = dict(current or {})
    errors: dict[str, str] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors[f"attributes.{key}"] = "unknown attribute; an admin must define it first"
            continue
        if value is None:
            result.pop(key, None)
            continue
        try:
            result[key] = _coerce(definition, value)
        except ValueError as exc:
            errors[f"attributes.{key}"] = str(exc)
    if errors:
        raise ValidationError("Some attributes are not valid.", fields=errors)
    return result


def _definition_snapshot(definition: AttributeDefinition) -> dict[str, Any]:
    return {
        "key": definition.key,
        "label": definition.label,
        "type": definition.type,
        "choices": list(definition.choices),
        "description": definition.description,
    }


def _check_definition(key: str, label: str, type_: str, choices: list[str]) -> None:
    errors: dict[str, str] = {}
    if not _KEY_RE.match(key):
        errors["key"] = "lower-case letters, digits and '_', starting with a letter (at most 50)"
    if not label.strip():
        errors["label"] = "must not be empty"
    if type_ not in AttributeType.values:
        errors["type"] = f"must be one of {', '.join(AttributeType.values)}"
    if type_ == AttributeType.CHOICE and not [c for c in choices if str(c).strip()]:
        errors["choices"] = "a choice attribute needs at least one choice"
    if errors:
        raise ValidationError("The attribute definition is not valid.", fields=errors)


@transaction.atomic
def define_attribute(
    actor: Actor, *, key: str, label: str, type: str, choices: list[str] | None = None, description: str = ""
) -> AttributeDefinition:
    actor.require(Perm.ATTRIBUTES_MANAGE)
    choices = [str(c).strip() for c in (choices or []) if str(c).strip()]
    _check_definition(key, label, type, choices)
    if AttributeDefinition.objects.filter(key=key).exists():
        raise ConflictError(f"An attribute with key {key!r} exists already.", fields={"key": "already defined"})
    definition = AttributeDefinition.objects.create(
        key=key, label=label.strip(), type=type, choices=choices, description=description.strip()
    )
    record_audit(
        actor,
        "attribute.defined",
        object_type="attribute",
        object_id=key,
        summary=f"Defined attribute {label}",
        after=_definition_snapshot(definition),
    )
    return definition


@transaction.atomic
def delete_attribute(actor: Actor, definition: AttributeDefinition) -> None:
    """Remove the definition. Values already stored stay on profiles (nothing typed is lost)."""
    actor.require(Perm.ATTRIBUTES_MANAGE)
    before = _definition_snapshot(definition)
    definition.delete()
    record_audit(
        actor,
        "attribute.deleted",
        object_type="attribute",
        object_id=before["key"],
        summary=f"Deleted attribute {before['label']}",
        before=before,
    )
