"""Adding, verifying and removing a customer's identities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.bulk import stamp_values
from cxloop.core.permissions import Perm
from cxloop.customers import events
from cxloop.customers.errors import CustomerMergedError, IdentityTakenError
from cxloop.customers.models import Customer, Identity
from cxloop.customers.normalization import CanonicalIdentity, canonicalize
from cxloop.customers.services.snapshots import identity_snapshot
from cxloop.customers.types import IdentityInput
from cxloop.events.bus import publish
from cxloop.privacy.services import record_audit

# How stale an identity's last_seen_at may get before a contact rewrites it. A visitor sending page views or a
# backlog of one sender's mail would otherwise rewrite the same row on every batch; to the minute is more than the
# readers need (the customer page shows it, messaging ranks a customer's addresses of one kind by it).
LAST_SEEN_RESOLUTION = timedelta(minutes=10)


def note_seen(identity_pks: Sequence[int], now: datetime) -> int:
    """Stamp last_seen_at = `now` on these identities, unless already stamped within LAST_SEEN_RESOLUTION."""
    return stamp_values(Identity, identity_pks, "last_seen_at", now, since=now - LAST_SEEN_RESOLUTION)


def canonicalize_one(
    identity: IdentityInput, *, customer_country: str = "", field_prefix: str = ""
) -> CanonicalIdentity:
    return canonicalize(
        identity.kind,
        identity.value,
        network=identity.network,
        region=identity.region,
        customer_country=customer_country or None,
        field_prefix=field_prefix,
    )


def canonicalize_all(identities: list[IdentityInput], *, customer_country: str = "") -> list[CanonicalIdentity]:
    """Canonicalise a list, naming a failing item as identities[i].field."""
    return [
        canonicalize_one(item, customer_country=customer_country, field_prefix=f"identities[{index}].")
        for index, item in enumerate(identities)
    ]


def find_identity(canonical: CanonicalIdentity) -> Identity | None:
    return (
        Identity.objects.select_related("customer")
        .filter(kind=canonical.kind, network=canonical.network, value=canonical.value)
        .first()
    )


def attach_identities(
    customer: Customer,
    canonical: list[CanonicalIdentity],
    inputs: list[IdentityInput],
    *,
    source: str,
) -> list[Identity]:
    """Create the identities on `customer`; an identity owned by another customer is a 409."""
    created: list[Identity] = []
    seen: set[tuple[str, str, str]] = set()
    for index, (item, given) in enumerate(zip(canonical, inputs, strict=True)):
        key = (item.kind, item.network, item.value)
        if key in seen:
            continue
        seen.add(key)
        existing = find_identity(item)
        if existing is not None:
            if existing.customer_id == customer.pk:
                continue
            raise IdentityTakenError(
                f"The {item.kind} {item.value} belongs to customer {existing.customer.public_id}.",
                fields={f"identities[{index}].value": f"already belongs to {existing.customer.public_id}"},
            )
        created.append(
            Identity.objects.create(
                customer=customer,
                kind=item.kind,
                network=item.network,
                value=item.value,
                match_value=item.match_value,
                is_verified=given.is_verified,
                source=given.source or source,
                last_seen_at=clock.now(),
            )
        )
    return created


@transaction.atomic
def add_identity(actor: Actor, customer: Customer, identity: IdentityInput) -> Identity:
    actor.require(Perm.CUSTOMERS_EDIT)
    # Lock and re-read: a merge running at the same time must not leave the new identity on its source.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if not customer.is_active:
        raise CustomerMergedError("This customer was merged into another; add the identity there.")
    canonical = canonicalize_one(identity, customer_country=customer.country)
    existing = find_identity(canonical)
    if existing is not None:
        if existing.customer_id == customer.pk:
            return existing
        raise IdentityTakenError(
            f"The {canonical.kind} {canonical.value} belongs to customer {existing.customer.public_id}.",
            fields={"value": f"already belongs to {existing.customer.public_id}"},
        )
    try:
        with transaction.atomic():
            created = attach_identities(customer, [canonical], [identity], source=identity.source or actor.via)[0]
    except IntegrityError as exc:  # a concurrent request took it between our check and insert
        raise IdentityTakenError("That identity was just added elsewhere.", fields={"value": "already taken"}) from exc
    record_audit(
        actor,
        "identity.added",
        object_type="customer",
        object_id=customer.public_id,
        summary=f"Added {created.kind} {created.value}",
        after=identity_snapshot(created),
    )
    publish(events.IdentityAdded(customer_id=customer.public_id, identity_id=created.public_id, kind=created.kind))
    return created


@transaction.atomic
def set_identity_verified(actor: Actor, identity: Identity, is_verified: bool) -> Identity:
    actor.require(Perm.CUSTOMERS_EDIT)
    if identity.is_verified == is_verified:
        return identity
    before = identity_snapshot(identity)
    identity.is_verified = is_verified
    identity.save(update_fields=["is_verified", "updated_at"])
    record_audit(
        actor,
        "identity.verified" if is_verified else "identity.unverified",
        object_type="customer",
        object_id=identity.customer.public_id,
        summary=f"{'Verified' if is_verified else 'Unverified'} {identity.kind} {identity.value}",
        before=before,
        after=identity_snapshot(identity),
    )
    return identity


@transaction.atomic
def remove_identity(actor: Actor, identity: Identity) -> None:
    actor.require(Perm.CUSTOMERS_EDIT)
    customer = identity.customer
    before = identity_snapshot(identity)
    identity.delete()
    record_audit(
        actor,
        "identity.removed",
        object_type="customer",
        object_id=customer.public_id,
        summary=f"Removed {before['kind']} {before['value']}",
        before=before,
    )
    publish(events.IdentityRemoved(customer_id=customer.public_id, identity_id=before["id"]))
