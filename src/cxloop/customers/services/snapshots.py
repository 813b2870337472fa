"""How a customer looks in the audit trail (before/after) and in merge records."""

from __future__ import annotations

import unicodedata
from typing import Any

from cxloop.customers.models import Customer, Identity


def search_key(name: str) -> str:
    """Lower-case, accent-free form of a name, so "José" is found by typing "jose"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()


def identity_snapshot(identity: Identity) -> dict[str, Any]:
    return {
        "id": identity.public_id,
        "kind": identity.kind,
        "network": identity.network,
        "value": identity.value,
        "is_verified": identity.is_verified,
        "source": identity.source,
    }


def customer_snapshot(
    customer: Customer,
    *,
    with_identities: bool = True,
    identities: list[Identity] | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """`identities` and `tags`, when the caller already holds them (a batch of new customers), save the queries."""
    data: dict[str, Any] = {
        "id": customer.public_id,
        "name": customer.name,
        "country": customer.country,
        "locale": customer.locale,
        "time_zone": customer.time_zone,
        "lifecycle_stage": customer.lifecycle_stage,
        "attributes": dict(customer.attributes),
        "tags": sorted(tags if tags is not None else (t.name for t in customer.tags.all())),
        "status": customer.status,
    }
    if with_identities:
        held = identities if identities is not None else customer.identities.order_by("id")
        data["identities"] = [identity_snapshot(i) for i in held]
    return data
