"""Reads of customer events and event types, taking the acting user."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events.models import Event, EventType


def event_types(actor: Actor) -> QuerySet[EventType]:
    # Senders and staff both need the registered types (a sender reads the schema it must meet).
    actor.require(Perm.INTERACTIONS_VIEW)
    return EventType.objects.order_by("key")


def get_event_type(actor: Actor, key: str) -> EventType:
    actor.require(Perm.INTERACTIONS_VIEW)
    found = EventType.objects.filter(key=key).first()
    if found is None:
        raise NotFoundError(f"No event type {key!r}.")
    return found


def get_event(actor: Actor, public_id: str) -> Event:
    actor.require(Perm.CUSTOMERS_VIEW)
    found = Event.objects.select_related("event_type", "customer").filter(public_id=public_id).first()
    if found is None:
        raise NotFoundError(f"No event {public_id!r}.")
    return found


def customer_events(
    actor: Actor,
    customer: Customer,
    *,
    type_key: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Event]:
    """A customer's events, newest first; `type_key` may name several types, comma-separated.

    The caller pages them (core.pagination on ("-occurred_at", "-id"), which the customer/time index serves)."""
    actor.require(Perm.CUSTOMERS_VIEW)
    qs = Event.objects.select_related("event_type", "customer").filter(customer=customer)
    keys = [k.strip() for k in type_key.split(",") if k.strip()]
    if keys:
        qs = qs.filter(event_type__key__in=keys)
    # In UTC first: PostgreSQL refuses offsets past ±15:59 that ISO 8601 allows.
    since, until = clock.storable_utc(since, "since"), clock.storable_utc(until, "until")
    if since is not None:
        qs = qs.filter(occurred_at__gte=since)
    if until is not None:
        qs = qs.filter(occurred_at__lt=until)
    return qs


def event_types_with_counts(actor: Actor, since: datetime) -> list[EventType]:
    """Every type with `recent_events`: how many events of it occurred from `since` on (the settings page)."""
    actor.require(Perm.INTERACTIONS_VIEW)
    return list(
        EventType.objects.annotate(recent_events=Count("events", filter=Q(events__occurred_at__gte=since))).order_by(
            "key"
        )
    )
