"""The website tracking snippet's service: a visitor's page views, and who the visitor is once the website says so.

A browser is anyone, so the public endpoint (portal.tracking) checks the origin, the rate, the size and the
signature of an identity claim before it calls `track_visitor`; this service then applies what the snippet may
do and no more: only the event types of CXLOOP_TRACKING_EVENT_TYPES, event ids in their own "web:" namespace
(a visitor cannot take an id that the business's own systems will send), and the customer found by identity
resolution — which never merges two existing customers silently: when the anonymous id and the signed identity
belong to two profiles it records a merge suggestion, and the events go to the profile it answers with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm
from cxloop.customers import services as customer_services
from cxloop.customers.models import IdentityKind
from cxloop.customers.types import IdentityInput
from cxloop.events.errors import UnknownEventTypeError
from cxloop.events.services import EventResult, ingest_events
from cxloop.events.types import CustomerRef, EventInput

SOURCE = "website"
EVENT_ID_PREFIX = "web:"
IDENTITY_KINDS = {"email": IdentityKind.EMAIL, "phone": IdentityKind.PHONE, "external": IdentityKind.EXTERNAL}


def tracking_actor(ip_address: str | None = None) -> Actor:
    """Who acts for the snippet: it may find or create customers and store their events, nothing else; the audit
    names it "website_tracking" with the visitor's address."""
    return Actor(
        user=None,
        via="website_tracking",
        ip_address=ip_address,
        permissions=frozenset({Perm.INTERACTIONS_WRITE, Perm.CUSTOMERS_EDIT, Perm.CUSTOMERS_VIEW}),
    )


@dataclass(frozen=True)
class VisitorIdentity:
    """An identity the website vouched for (its signature is checked by the caller): kind email/phone/external."""

    kind: str
    value: str
    network: str = ""
    name: str = ""


@dataclass
class TrackOutcome:
    results: list[EventResult]
    customer_id: str = ""  # the identified customer, when an identity was given


@transaction.atomic
def track_visitor(
    actor: Actor, anonymous_id: str, items: Sequence[EventInput], identity: VisitorIdentity | None = None
) -> TrackOutcome:
    """Link `identity` and the anonymous id to one customer first (when given), then store `items` for the
    visitor: the identified customer, or the anonymous id's."""
    actor.require(Perm.INTERACTIONS_WRITE)
    actor.require(Perm.CUSTOMERS_EDIT)
    customer = CustomerRef(anonymous_id=anonymous_id)
    outcome = TrackOutcome(results=[])
    if identity is not None:
        resolution = customer_services.resolve_customer(
            actor,
            [
                IdentityInput(kind=IdentityKind.ANONYMOUS, value=anonymous_id, source=SOURCE),
                IdentityInput(
                    kind=IDENTITY_KINDS[identity.kind],
                    value=identity.value,
                    network=identity.network or None if identity.kind == "external" else None,
                    source=SOURCE,
                ),
            ],
            name=identity.name,
            source=SOURCE,
        )
        outcome.customer_id = resolution.customer.public_id
        customer = CustomerRef(id=outcome.customer_id)
    allowed = set(settings.CXLOOP_TRACKING_EVENT_TYPES)
    accepted = [
        EventInput(
            event_id=f"{EVENT_ID_PREFIX}{anonymous_id}:{item.event_id}"[:200],
            type=item.type,
            customer=customer,
            occurred_at=item.occurred_at,
            properties=item.properties,
        )
        for item in items
        if item.type in allowed
    ]
    stored = iter(ingest_events(actor, accepted) if accepted else [])
    for index, item in enumerate(items):
        if item.type in allowed:
            result = next(stored)
            result.index = index
        else:
            result = EventResult(
                index=index,
                error=UnknownEventTypeError(
                    "The event is not valid.", fields={"type": "is not an event type web pages may send"}
                ),
            )
        outcome.results.append(result)
    return outcome
