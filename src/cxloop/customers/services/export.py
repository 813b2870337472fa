"""Personal-data export: everything cxloop holds about one customer, as one JSON document.

Exports of personal data are audited like changes are: who took a copy of whose data, and when.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.customer_refs import customer_references
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.customers.services.snapshots import customer_snapshot
from cxloop.privacy.services import record_audit


@transaction.atomic
def export_customer(actor: Actor, customer: Customer) -> dict[str, Any]:
    actor.require(Perm.CUSTOMERS_EXPORT)
    document: dict[str, Any] = {
        "exported_at": clock.now().isoformat(),
        "customer": customer_snapshot(customer),
        "created_at": customer.created_at.isoformat(),
    }
    for reference in customer_references():
        if reference.export is not None:
            document[reference.label] = reference.export(customer.pk)
    record_audit(
        actor,
        "customer.exported",
        object_type="customer",
        object_id=customer.public_id,
        summary=f"Exported the personal data of {customer.display_name}",
        after={key: len(value) for key, value in document.items() if isinstance(value, list)},
    )
    return document
