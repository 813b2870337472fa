"""Customer-event ingestion and event-type administration: the only code that writes the events tables.

A sender posts what a customer did (one event or a batch of up to 1,000). Each event is checked on its own —
its id, its registered type, its time, its properties against the type's JSON Schema, who it is about — so one
bad event is reported with the path of each error while the others are stored. Storing is set-based: the
customers are resolved with the customers module's batch resolution (or, for types shown on the timeline,
through the interactions module's batch ingest, which resolves them too), and the events go in with one bulk
insert. An event id seen before is a duplicate and changes nothing, which makes resending a batch after a
timeout safe.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jsonschema_rs
from django.db import IntegrityError, transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import collector_paused, insert_rows, new_object, select_values
from cxloop.core.errors import CxloopError, NotFoundError, ValidationError
from cxloop.core.ids import new_public_id
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer, IdentityKind
from cxloop.customers.types import IdentityInput
from cxloop.events.bus import publish, publish_all
from cxloop.events.errors import (
    EventTypeExistsError,
    InvalidSchemaError,
    PropertiesInvalidError,
    UnknownEventTypeError,
)
from cxloop.events.events import CustomerEventReceived, EventTypeChanged
from cxloop.events.models import Event, EventType
from cxloop.events.types import CustomerRef, EventInput, EventTypeInput
from cxloop.interactions import services as interaction_services
from cxloop.interactions.types import InboundItem, InteractionInput
from cxloop.privacy.services import record_audit

BATCH_MAX_EVENTS = 1000
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,99}$")
_FUTURE_TOLERANCE = timedelta(hours=24)  # as interactions: a sender's clock may run ahead
_ATTEMPTS = 3
_CHUNK = 500
_SOURCE = "event"
# Names with a built-in meaning elsewhere (journeys.conditions.ACTIVITY): a registered type would shadow it.
RESERVED_KEYS = frozenset({"activity"})


# --- event types -------------------------------------------------------------------------------------------------
def _check_schema(schema: Any) -> dict[str, Any]:
    """A schema that cannot be compiled would refuse every event of its type; refuse it when it is registered."""
    if not isinstance(schema, dict):
        raise InvalidSchemaError(
            "The properties schema must be a JSON object.", fields={"properties_schema": "must be an object"}
        )
    if (where := _non_finite(schema, "properties_schema")) is not None:
        raise InvalidSchemaError(
            "The properties schema is not valid JSON.", fields={where: "must be a finite number (no NaN or Infinity)"}
        )
    try:
        jsonschema_rs.meta.validate(schema)
        jsonschema_rs.validator_for(schema)
    except jsonschema_rs.ValidationError as exc:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.instance_path)
        raise InvalidSchemaError(
            "The properties schema is not a valid JSON Schema.", fields={f"properties_schema{path}": exc.message}
        ) from None
    except (ValueError, jsonschema_rs.ReferencingError) as exc:
        raise InvalidSchemaError(
            "The properties schema is not a valid JSON Schema.", fields={"properties_schema": str(exc)[:300]}
        ) from None
    return schema


def _clean_type(data: EventTypeInput) -> EventTypeInput:
    errors: dict[str, str] = {}
    data.key = data.key.strip()
    data.name = " ".join(data.name.split())
    if not _KEY.match(data.key):
        errors["key"] = "use 1 to 100 lower-case letters, digits and . _ : - (e.g. purchase.completed)"
    elif data.key in RESERVED_KEYS:
        errors["key"] = "is reserved: journeys and rules read 'activity' as any inbound contact or event"
    if not data.name or len(data.name) > 200:
        errors["name"] = "give a name of at most 200 characters"
    if errors:
        raise ValidationError("The event type is not valid.", fields=errors)
    _check_schema(data.properties_schema)
    return data


def _type_snapshot(event_type: EventType) -> dict[str, Any]:
    return {
        "key": event_type.key,
        "name": event_type.name,
        "show_on_timeline": event_type.show_on_timeline,
        "is_active": event_type.is_active,
        "properties_schema": event_type.properties_schema,
    }


@transaction.atomic
def create_event_type(actor: Actor, data: EventTypeInput) -> EventType:
    actor.require(Perm.CHANNELS_MANAGE)
    data = _clean_type(data)
    if EventType.objects.filter(key=data.key).exists():
        raise EventTypeExistsError(f"An event type {data.key!r} exists.", fields={"key": "already registered"})
    event_type = EventType.objects.create(
        key=data.key,
        name=data.name,
        description=data.description,
        properties_schema=data.properties_schema,
        show_on_timeline=data.show_on_timeline,
        is_active=data.is_active,
    )
    record_audit(
        actor,
        "event_type.created",
        object_type="event_type",
        object_id=event_type.key,
        after=_type_snapshot(event_type),
    )
    publish(EventTypeChanged(key=event_type.key, created=True))
    return event_type


@transaction.atomic
def update_event_type(actor: Actor, key: str, data: EventTypeInput) -> EventType:
    """Change everything but the key (senders use it). A new schema applies to events received from now on."""
    actor.require(Perm.CHANNELS_MANAGE)
    event_type = EventType.objects.select_for_update().filter(key=key).first()
    if event_type is None:
        raise NotFoundError(f"No event type {key!r}.")
    data.key = key
    data = _clean_type(data)
    before = _type_snapshot(event_type)
    event_type.name = data.name
    event_type.description = data.description
    event_type.properties_schema = data.properties_schema
    event_type.show_on_timeline = data.show_on_timeline
    event_type.is_active = data.is_active
    event_type.save()
    record_audit(
        actor,
        "event_type.updated",
        object_type="event_type",
        object_id=key,
        before=before,
        after=_type_snapshot(event_type),
    )
    publish(EventTypeChanged(key=key, created=False))
    return event_type


# --- ingestion ---------------------------------------------------------------------------------------------------
@dataclass
class EventResult:
    """The outcome of one event of a batch: "stored", "duplicate" (its event_id was known) or "error"."""

    index: int
    status: str = "error"
    event_public_id: str = ""
    customer_id: str = ""
    customer_created: bool = False
    interaction_id: str = ""
    error: CxloopError | None = None


@dataclass
class _Accepted:
    result: EventResult
    item: EventInput
    event_type: EventType
    occurred_at: datetime
    identities: list[IdentityInput]
    prepared: customer_services.PreparedResolution | None
    customer: Customer | None = None


# Compiled validators by (type pk, updated_at): compiling costs far more than validating one event.
_validators: dict[tuple[int, datetime], jsonschema_rs.Validator] = {}


def _validator(event_type: EventType) -> jsonschema_rs.Validator:
    key = (event_type.pk, event_type.updated_at)
    found = _validators.get(key)
    if found is None:
        if len(_validators) > 1000:
            _validators.clear()
        found = _validators[key] = jsonschema_rs.validator_for(event_type.properties_schema)
    return found


_JSON_SCALARS = frozenset({str, int, bool, type(None)})


def _all_finite(value: Any) -> bool:
    """True when `value`, made of the JSON types only, holds no NaN or Infinity; False otherwise (or unsure)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is float:
            if not math.isfinite(item):
                return False
        elif kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind not in _JSON_SCALARS:
            return False
    return True


def _non_finite(value: Any, path: str = "properties") -> str | None:
    """The path of the first NaN or Infinity in `value` (Python's JSON parser takes them; no database stores them
    as JSON, and PostgreSQL refuses the whole insert)."""
    # The usual case first, by a walk over the values: json.dumps(allow_nan=False) below makes a new encoder on
    # every call (a fifth of an event's checks, bench/events.py). Anything the walk is unsure of goes on.
    if _all_finite(value):
        return None
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        pass
    else:
        return None
    if isinstance(value, float):
        return path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        found = _non_finite(child, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}")
        if found is not None:
            return found
    return None


def _json_path(parts: Sequence[str | int]) -> str:
    return "properties" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _identities(ref: CustomerRef) -> list[IdentityInput]:
    """The identities the sender gave, in a fixed order (e-mail, phone, external id, anonymous id)."""
    identities: list[IdentityInput] = []
    if ref.email:
        identities.append(IdentityInput(kind=IdentityKind.EMAIL, value=ref.email, source=_SOURCE))
    if ref.phone:
        identities.append(IdentityInput(kind=IdentityKind.PHONE, value=ref.phone, region=ref.region, source=_SOURCE))
    if ref.external_id:
        identities.append(
            IdentityInput(
                kind=IdentityKind.EXTERNAL, value=ref.external_id, network=ref.network or None, source=_SOURCE
            )
        )
    if ref.anonymous_id:
        identities.append(IdentityInput(kind=IdentityKind.ANONYMOUS, value=ref.anonymous_id, source=_SOURCE))
    return identities


def _property_errors(event_type: EventType, properties: dict[str, Any]) -> dict[str, str]:
    """Each JSON path in `properties` that breaks the type's schema (or holds a NaN), with the reason."""
    where = _non_finite(properties)
    if where is not None:
        return {where: "must be a finite number (JSON has no NaN or Infinity)"}
    validator = _validator(event_type)
    if validator.is_valid(properties):  # the usual case: no errors to list
        return {}
    errors: dict[str, str] = {}
    for error in validator.iter_errors(properties):
        errors.setdefault(_json_path(list(error.instance_path)), error.message)
    return errors


def _check(item: EventInput, types: dict[str, EventType], now: datetime) -> _Accepted | ValidationError:
    """Every reason to refuse `item`, each under the path of its field."""
    errors: dict[str, str] = {}
    code_error: type[ValidationError] = ValidationError
    event_type = types.get(item.type)
    if event_type is None or not event_type.is_active:
        errors["type"] = "is not a registered, active event type"
        code_error = UnknownEventTypeError
    elif not isinstance(item.properties, dict):
        errors["properties"] = "must be an object"
    elif errors := _property_errors(event_type, item.properties):
        code_error = PropertiesInvalidError
    occurred_at = item.occurred_at or now
    if occurred_at.tzinfo is None:
        errors["occurred_at"] = "must include a time zone offset (e.g. 2026-01-31T09:00:00Z)"
    elif not clock.is_storable(occurred_at):
        errors["occurred_at"] = clock.OUT_OF_RANGE
    elif occurred_at > now + _FUTURE_TOLERANCE:
        errors["occurred_at"] = "must not be in the future"
    ref = item.customer
    identities = _identities(ref)
    prepared = None
    if ref.id and identities:
        errors["customer"] = "give either id or identities, not both"
    elif not ref.id and not identities:
        errors["customer"] = "give id, email, phone, external_id or anonymous_id"
    elif identities:
        try:
            prepared = customer_services.prepare_resolution(identities, name=ref.name, source=_SOURCE)
        except ValidationError as exc:
            errors.update(
                {f"customer.{_identity_field(field, identities)}": reason for field, reason in exc.fields.items()}
            )
    if errors:
        if code_error is PropertiesInvalidError and any(not f.startswith("properties") for f in errors):
            code_error = ValidationError
        return code_error("The event is not valid.", fields=errors)
    assert event_type is not None
    return _Accepted(
        result=EventResult(index=-1),
        item=item,
        event_type=event_type,
        occurred_at=clock.storable_utc(occurred_at, "occurred_at") or occurred_at,
        identities=identities,
        prepared=prepared,
    )


_IDENTITY_FIELDS = {
    IdentityKind.EMAIL: "email",
    IdentityKind.PHONE: "phone",
    IdentityKind.EXTERNAL: "external_id",
    IdentityKind.ANONYMOUS: "anonymous_id",
}


def _identity_field(field: str, identities: list[IdentityInput]) -> str:
    """prepare_resolution names an identity by its position ("identities[1].value"); the sender wrote a name."""
    match = re.match(r"identities\[(\d+)\]", field)
    if match and int(match.group(1)) < len(identities):
        return _IDENTITY_FIELDS.get(IdentityKind(identities[int(match.group(1))].kind), field)
    return field


def _known_event_ids(event_ids: list[str]) -> dict[str, str]:
    known: dict[str, str] = {}
    for start in range(0, len(event_ids), _CHUNK):
        chunk = event_ids[start : start + _CHUNK]
        known.update(dict(select_values(Event, ["event_id", "public_id"], event_id__in=chunk)))
    return known


def _shown_value(value: Any) -> str:
    return (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))[:200]


def _timeline_input(accepted: _Accepted) -> InteractionInput:
    properties = accepted.item.properties
    body = "\n".join(f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in list(properties.items())[:20])
    # The timeline shows the first properties as a key/value list: pairs, not an object, so that a property
    # named like a dict method ("items", "keys") cannot shadow it in a template.
    shown = [[str(key)[:100], _shown_value(value)] for key, value in list(properties.items())[:20]]
    return InteractionInput(
        channel="event",
        direction="inbound",
        occurred_at=accepted.occurred_at,
        summary=accepted.event_type.name[:500],
        body=body[:10_000],
        external_id=accepted.item.event_id[:255],
        metadata={
            "kind": "event",
            "event_type": accepted.event_type.key,
            "event_id": accepted.item.event_id,
            "properties": shown,
        },
    )


def _reported(result: EventResult, exc: CxloopError) -> None:
    exc.__traceback__ = None  # see interactions.services._reported: tracebacks keep the whole batch alive
    exc.__cause__ = exc.__context__ = None
    result.error = exc


def _resolve_by_id(actor: Actor, accepted: list[_Accepted]) -> None:
    """Events naming a cxloop customer id: that customer, or the one it was merged into."""
    by_id: dict[str, Customer | CxloopError] = {}
    for a in accepted:
        ref = a.item.customer.id
        if a.prepared is not None:
            continue
        if ref not in by_id:
            try:
                customer = customer_queries.get_customer(actor, ref)
                while not customer.is_active and customer.merged_into is not None:
                    customer = customer.merged_into
                by_id[ref] = customer
            except CxloopError as exc:
                by_id[ref] = NotFoundError(exc.message, fields={"customer.id": "no such customer"})
        found = by_id[ref]
        if isinstance(found, CxloopError):
            _reported(a.result, found)
        else:
            a.customer = found


def _record_timeline(actor: Actor, timeline: list[_Accepted]) -> None:
    """Timeline events through the interactions module: its batch ingest resolves who they are about, too."""
    by_identity = [a for a in timeline if a.prepared is not None]
    if by_identity:
        inbound = [
            InboundItem(identities=a.identities, interaction=_timeline_input(a), name=a.item.customer.name)
            for a in by_identity
        ]
        batch = interaction_services.ingest_batch(actor, inbound)
        for a, outcome in zip(by_identity, batch.items, strict=True):
            if outcome.error is not None or outcome.interaction is None or outcome.resolution is None:
                _reported(a.result, outcome.error or ValidationError("The event could not be recorded."))
                continue
            a.customer, a.result.customer_created = outcome.resolution.customer, outcome.resolution.created
            a.result.interaction_id = outcome.interaction.public_id
    for a in timeline:
        if a.prepared is None and a.customer is not None and a.result.error is None:
            try:
                with transaction.atomic():  # a refusal leaves the batch's other writes as they were
                    interaction = interaction_services.record_interaction(actor, a.customer, _timeline_input(a))
            except CxloopError as exc:
                _reported(a.result, exc)
            else:
                a.result.interaction_id = interaction.public_id


def _resolve_quiet(actor: Actor, quiet: list[_Accepted]) -> None:
    """Events off the timeline: their customers by batch resolution, as interactions' batch ingest does it.

    Events naming the same identities (a visitor's page views, a customer's several orders) are resolved once:
    the later ones would only find the customer the first one found or created."""
    groups: dict[tuple[Any, ...], list[_Accepted]] = {}
    for a in quiet:
        if a.prepared is not None:
            key = (a.prepared.name, *((c.kind, c.network, c.value) for c in a.prepared.canonical))
            groups.setdefault(key, []).append(a)
    _resolve_each(actor, [group[0] for group in groups.values()])
    for group in groups.values():
        first = group[0]
        for a in group[1:]:
            a.customer = first.customer
            if first.result.error is not None:
                _reported(a.result, first.result.error)


def _resolve_each(actor: Actor, pending: list[_Accepted]) -> None:
    while pending:
        outcomes = customer_services.resolve_batch(actor, [a.prepared for a in pending if a.prepared is not None])
        for a, outcome in zip(pending, outcomes, strict=False):
            if isinstance(outcome, CxloopError):
                _reported(a.result, outcome)
            else:
                a.customer, a.result.customer_created = outcome.customer, outcome.created
        pending = pending[len(outcomes) :]
        if pending:  # resolve_batch stopped before one that may merge customers: that one alone
            a = pending.pop(0)
            try:
                resolution = customer_services.resolve_customer(
                    actor, a.identities, name=a.item.customer.name, source=_SOURCE
                )
            except CxloopError as exc:
                _reported(a.result, exc)
            else:
                a.customer, a.result.customer_created = resolution.customer, resolution.created


def _resolve(actor: Actor, accepted: list[_Accepted]) -> None:
    _resolve_by_id(actor, accepted)
    _record_timeline(actor, [a for a in accepted if a.event_type.show_on_timeline])
    _resolve_quiet(actor, [a for a in accepted if not a.event_type.show_on_timeline])


def ingest_events(actor: Actor, items: Sequence[EventInput]) -> list[EventResult]:
    """Store `items` (up to BATCH_MAX_EVENTS) in one transaction; one EventResult per item, in order.

    Two senders posting the same new event id at once meet on the unique constraint: the transaction is
    then run again, and the second finds the first's event and reports a duplicate.
    """
    actor.require(Perm.INTERACTIONS_WRITE)
    actor.require(Perm.CUSTOMERS_EDIT)
    if len(items) > BATCH_MAX_EVENTS:
        raise ValidationError(
            f"A batch holds at most {BATCH_MAX_EVENTS} events.", fields={"events": f"at most {BATCH_MAX_EVENTS}"}
        )
    with collector_paused():
        for attempt in range(_ATTEMPTS):
            try:
                with transaction.atomic():
                    return _ingest(actor, items)
            except IntegrityError:
                if attempt == _ATTEMPTS - 1:
                    raise
    raise AssertionError("unreachable")


def _ingest(actor: Actor, items: Sequence[EventInput]) -> list[EventResult]:
    now = clock.now()
    results = [EventResult(index=index) for index in range(len(items))]
    keys = sorted({item.type for item in items})
    types = {t.key: t for t in EventType.objects.filter(key__in=keys)}
    known = _known_event_ids(sorted({item.event_id for item in items if item.event_id}))
    accepted: list[_Accepted] = []
    taken: set[str] = set()
    for result, item in zip(results, items, strict=True):
        if not item.event_id or len(item.event_id) > 200:
            _reported(
                result, ValidationError("The event is not valid.", fields={"event_id": "give 1 to 200 characters"})
            )
            continue
        if item.event_id in known or item.event_id in taken:
            result.status, result.event_public_id = "duplicate", known.get(item.event_id, "")
            continue
        checked = _check(item, types, now)
        if isinstance(checked, CxloopError):
            _reported(result, checked)
            continue
        checked.result = result
        taken.add(item.event_id)
        accepted.append(checked)
    _resolve(actor, accepted)
    stored = [a for a in accepted if a.customer is not None and a.result.error is None]
    events = [
        new_object(
            Event,
            public_id=new_public_id(Event.PUBLIC_ID_PREFIX),
            event_id=a.item.event_id,
            event_type=a.event_type,
            customer=a.customer,
            occurred_at=a.occurred_at,
            properties=a.item.properties,
            interaction_ref=a.result.interaction_id,
        )
        for a in stored
    ]
    insert_rows(events)
    # Later duplicates of an event whose first copy failed are not duplicates of anything stored.
    stored_ids = {a.item.event_id: e.public_id for a, e in zip(stored, events, strict=True)}
    for a, event in zip(stored, events, strict=True):
        a.result.status, a.result.event_public_id = "stored", event.public_id
        a.result.customer_id = event.customer.public_id
    for result, item in zip(results, items, strict=True):
        if result.status == "duplicate" and not result.event_public_id:
            if item.event_id in stored_ids:
                result.event_public_id = stored_ids[item.event_id]
            else:
                result.status = "error"
                _reported(
                    result,
                    ValidationError(
                        "The event is not valid.", fields={"event_id": "its first copy in this batch was refused"}
                    ),
                )
    if events:
        record_audit(
            actor,
            "events.ingested",
            object_type="event_batch",
            object_id=events[0].public_id,
            summary=f"{len(events)} customer events stored",
            after={"count": len(events), "types": sorted({e.event_type.key for e in events})},
        )
    publish_all(
        [
            CustomerEventReceived(
                event_id=event.event_id,
                customer_id=event.customer.public_id,
                type=event.event_type.key,
                occurred_at=event.occurred_at.isoformat(),
                properties=event.properties,
            )
            for event in events
        ]
    )
    return results


# --- rows that follow their customer (core.customer_refs; called inside the merge's own transaction) ---------------
def move_customer_events(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(Event.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    for start in range(0, len(ids), _CHUNK):
        Event.objects.filter(pk__in=ids[start : start + _CHUNK]).update(customer_id=to_customer_id)
    return ids


def restore_customer_events(ids: list[int], to_customer_id: int) -> None:
    for start in range(0, len(ids), _CHUNK):
        Event.objects.filter(pk__in=ids[start : start + _CHUNK]).update(customer_id=to_customer_id)


def export_customer_events(customer_id: int) -> list[dict[str, Any]]:
    """What the business's systems reported the customer did (a personal-data export)."""
    rows = Event.objects.filter(customer_id=customer_id).select_related("event_type").order_by("occurred_at", "id")
    return [
        {
            "id": e.public_id,
            "event_id": e.event_id,
            "type": e.event_type.key,
            "occurred_at": e.occurred_at.isoformat(),
            "properties": e.properties,
        }
        for e in rows.iterator(chunk_size=500)
    ]
