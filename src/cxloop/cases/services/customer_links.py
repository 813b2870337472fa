"""Cases and promises follow their customer: through merges (and back on unmerge), into a personal-data
export, and when the customer's tier changes, into the SLA policy for that tier.

The customers module cannot import cases; these functions are registered with core.customer_refs and the
event bus from CasesConfig.ready().
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from cxloop.cases.models import ACTIVE_STATUSES, Case, Promise
from cxloop.core import clock
from cxloop.customers.events import CustomerUpdated
from cxloop.events.bus import DomainEvent


def move_customer_cases(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(Case.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    Case.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_cases(ids: list[int], to_customer_id: int) -> None:
    Case.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def export_customer_cases(customer_id: int) -> list[dict[str, Any]]:
    """The customer's cases as plain data (what they were about, how they ended), oldest first."""
    rows = Case.objects.filter(customer_id=customer_id).select_related("goal", "category").order_by("opened_at", "id")
    return [
        {
            "id": c.public_id,
            "subject": c.subject,
            "description": c.description,
            "goal": c.goal.name,
            "category": c.category.name if c.category else "",
            "status": c.status,
            "opened_at": c.opened_at.isoformat(),
            "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
            "outcome": c.outcome,
        }
        for c in rows.iterator(chunk_size=500)
    ]


def move_customer_promises(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(Promise.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    Promise.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_promises(ids: list[int], to_customer_id: int) -> None:
    Promise.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def export_customer_promises(customer_id: int) -> list[dict[str, Any]]:
    """What we promised the customer, and whether we kept it."""
    rows = Promise.objects.filter(customer_id=customer_id).order_by("made_at", "id")
    return [
        {
            "id": p.public_id,
            "description": p.description,
            "made_at": p.made_at.isoformat(),
            "due_at": p.due_at.isoformat(),
            "status": p.status,
            "kept_at": p.kept_at.isoformat() if p.kept_at else None,
        }
        for p in rows.iterator(chunk_size=500)
    ]


def on_customer_updated(event: DomainEvent) -> None:
    """A changed tier (a profile attribute) may change which SLA policy the customer's open cases are under."""
    if not isinstance(event, CustomerUpdated) or "attributes" not in event.changed:
        return
    from cxloop.cases.services import sla  # imported here: this module loads at start-up

    tier_key = settings.CXLOOP_CUSTOMER_TIER_ATTRIBUTE
    with transaction.atomic():
        cases = Case.objects.select_for_update().filter(
            customer__public_id=event.customer_id, status__in=ACTIVE_STATUSES
        )
        now = clock.now()
        for case in cases.select_related("customer"):
            if tier_key in case.customer.attributes or case.sla_policy_id is not None:
                sla.reevaluate(case, now)
