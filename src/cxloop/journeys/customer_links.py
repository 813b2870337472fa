"""Enrolments follow their customer: a merge moves the merged customer's enrolments (with their history and
timers, which hang off the enrolment) to the survivor, an unmerge moves exactly those back, and a personal-data
export lists them with their history. Registered in apps.py through core.customer_refs, since the customers
module cannot import this one. Deleting a customer deletes their enrolments (the foreign key cascades).

A moved enrolment that is still running carries on for the survivor: its next step reads the survivor's profile
and sends to the survivor's addresses, which is what a merge means.
"""

from __future__ import annotations

from typing import Any

from cxloop.journeys.models import Enrolment, EnrolmentStep


def move_customer_enrolments(from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(Enrolment.objects.filter(customer_id=from_customer_id).values_list("pk", flat=True))
    Enrolment.objects.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def restore_customer_enrolments(ids: list[int], to_customer_id: int) -> None:
    Enrolment.objects.filter(pk__in=ids).update(customer_id=to_customer_id)


def export_customer_enrolments(customer_id: int) -> list[dict[str, Any]]:
    """The journeys the customer was in, where they are or how they left, and each step with when and what."""
    enrolments = list(
        Enrolment.objects.filter(customer_id=customer_id).select_related("journey", "version").order_by("id")
    )
    history: dict[int, list[dict[str, Any]]] = {e.pk: [] for e in enrolments}
    rows = EnrolmentStep.objects.filter(enrolment_id__in=list(history)).order_by("enrolment_id", "seq")
    for row in rows.iterator(chunk_size=1000):
        history[row.enrolment_id].append(
            {"step": row.step, "kind": row.kind, "outcome": row.outcome, "at": row.at.isoformat()}
        )
    return [
        {
            "id": e.public_id,
            "journey": e.journey.key,
            "version": e.version.number,
            "state": e.state,
            "step": e.step,
            "entered_at": e.entered_at.isoformat(),
            "finished_at": e.finished_at.isoformat() if e.finished_at else None,
            "exit_reason": e.exit_reason,
            "history": history[e.pk],
        }
        for e in enrolments
    ]
