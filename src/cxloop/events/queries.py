"""Reads of customer events and event types, taking the acting user."""

from __future__ import annotations

from django.db.models import QuerySet

from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError
from cxloop.core.permissions import Perm
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
