"""Putting customers into journeys and taking them out: enrol (every trigger ends here), remove, exit_all.

`enrol` writes the enrolment, its first history row ("entered") and a timer due at once; the steps themselves
run in the worker (timers.process_due), never in the request or the event subscriber that enrolled. So
enrolling is a few inserts, and the first message goes out through the same durable path as every later one.

The same `trigger_ref` enrols once per journey (the unique constraint decides between racing callers), so a
re-delivered event, a repeated date sweep or a retried manual request returns the enrolment already made. The
re-entry policy then decides whether a customer may be in the journey again:
`never` — once ever; `after N days` — not while in it, and not before N days have passed since they last
entered; `always` — every time the trigger fires, even while in it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events.bus import publish, publish_all
from cxloop.journeys.elements import JourneyDocument, step_kind
from cxloop.journeys.engine import document_for, finish, set_timer, write_history
from cxloop.journeys.errors import AlreadyEnrolledError, EnrolmentFinishedError, JourneyNotActiveError
from cxloop.journeys.events import EnrolmentFinished, EnrolmentStarted
from cxloop.journeys.models import Enrolment, EnrolmentState, EnrolmentStep, Journey, JourneyStatus, JourneyTimer
from cxloop.privacy.services import record_audit


def _refusal(journey: Journey, document: JourneyDocument, customer: Customer, now: datetime) -> str | None:
    """Why the re-entry policy keeps `customer` out, or None."""
    policy = document.reentry
    if policy.policy == "always":
        return None
    earlier = Enrolment.objects.filter(journey=journey, customer=customer)
    if policy.policy == "never":
        return "already entered this journey" if earlier.exists() else None
    if earlier.filter(state=EnrolmentState.ACTIVE).exists():
        return "already in this journey"
    days = policy.days or 0
    if earlier.filter(entered_at__gt=now - timedelta(days=days)).exists():
        return f"entered this journey less than {days} days ago"
    return None


@transaction.atomic
def enrol(
    actor: Actor,
    journey: Journey,
    customer: Customer,
    *,
    trigger_ref: str,
    context: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """Enrol `customer` into the active `journey` at its current version; idempotent on `trigger_ref`."""
    actor.require(Perm.JOURNEYS_ENROL)
    existing = Enrolment.objects.filter(journey_id=journey.pk, trigger_ref=trigger_ref).first()
    if existing is not None:
        return existing
    now = now or clock.now()
    journey = Journey.objects.select_related("current_version").get(pk=journey.pk)
    if journey.status != JourneyStatus.ACTIVE or journey.current_version is None:
        raise JourneyNotActiveError(f"The journey {journey.key} is {journey.status}; it enrols nobody.")
    if connection.vendor == "postgresql":
        # One decision per customer at a time, so two triggers at once cannot both pass the re-entry policy.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
    document = document_for(journey.current_version)
    refusal = _refusal(journey, document, customer, now)
    if refusal is not None:
        raise AlreadyEnrolledError(f"{customer.public_id} is kept out of {journey.key}: {refusal}.")
    enrolment = Enrolment(
        journey=journey, version=journey.current_version, customer=customer, step=document.entry,
        trigger_ref=trigger_ref[:250], context=context or {}, entered_at=now,
    )  # fmt: skip
    try:
        with transaction.atomic():
            enrolment.save()
    except IntegrityError:
        return Enrolment.objects.get(journey_id=journey.pk, trigger_ref=trigger_ref[:250])
    detail = {"trigger_ref": enrolment.trigger_ref, "version": journey.current_version.number}
    write_history(enrolment, document.entry, step_kind(document.step(document.entry)), "entered", now, detail)
    enrolment.save(update_fields=["seq"])
    set_timer(enrolment, now)
    if actor.user is not None:
        record_audit(
            actor, "enrolment.started", object_type="enrolment", object_id=enrolment.public_id,
            summary=f"{customer.public_id} enrolled into {journey.key} ({trigger_ref})",
            after={"journey": journey.key, "customer": customer.public_id, "trigger_ref": trigger_ref},
        )  # fmt: skip
    publish(
        EnrolmentStarted(
            enrolment_id=enrolment.public_id, journey_id=journey.public_id, version=journey.current_version.number,
            customer_id=customer.public_id, trigger_ref=enrolment.trigger_ref,
        )
    )  # fmt: skip
    return enrolment


@transaction.atomic
def remove(actor: Actor, enrolment: Enrolment, *, reason: str, now: datetime | None = None) -> Enrolment:
    """Take a customer out by hand: the enrolment exits with `reason` (409 when it already finished)."""
    actor.require(Perm.JOURNEYS_ENROL)
    now = now or clock.now()
    rows = Enrolment.objects.select_related("journey", "customer", "version")
    if connection.vendor == "postgresql":
        rows = rows.select_for_update(of=("self",))
    enrolment = rows.get(pk=enrolment.pk)
    if enrolment.state != EnrolmentState.ACTIVE:
        raise EnrolmentFinishedError(f"The enrolment {enrolment.public_id} already finished ({enrolment.state}).")
    kind = step_kind(document_for(enrolment.version).step(enrolment.step))
    write_history(enrolment, enrolment.step, kind, "removed", now, {"reason": reason, "by": actor.label})
    finish(enrolment, EnrolmentState.EXITED, reason, now)
    enrolment.save()
    record_audit(
        actor, "enrolment.removed", object_type="enrolment", object_id=enrolment.public_id,
        summary=f"{enrolment.customer.public_id} removed from {enrolment.journey.key}: {reason}",
        before={"state": EnrolmentState.ACTIVE}, after={"state": enrolment.state, "reason": reason},
    )  # fmt: skip
    return enrolment


@transaction.atomic
def exit_all(actor: Actor, journey: Journey, *, reason: str, now: datetime | None = None) -> int:
    """Exit every running enrolment of `journey` (archive): set-based, one history row each; returns how many."""
    actor.require(Perm.JOURNEYS_MANAGE)
    now = now or clock.now()
    running = Enrolment.objects.filter(journey_id=journey.pk, state=EnrolmentState.ACTIVE)
    if connection.vendor == "postgresql":
        running = running.select_for_update()
    rows = list(running.values_list("pk", "seq", "step", "public_id", "customer__public_id"))
    if not rows:
        return 0
    EnrolmentStep.objects.bulk_create(
        EnrolmentStep(
            enrolment_id=pk, seq=seq, step=step, kind="exit", outcome="exited", at=now, detail={"reason": reason}
        )
        for pk, seq, step, _, _ in rows
    )
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        JourneyTimer.objects.filter(enrolment_id__in=chunk).delete()
        Enrolment.objects.filter(pk__in=chunk).update(
            state=EnrolmentState.EXITED, finished_at=now, exit_reason=reason[:300], waiting_for="",
            waiting_since=None, seq=F("seq") + 1, updated_at=now,
        )  # fmt: skip
    record_audit(
        actor, "journey.enrolments_exited", object_type="journey", object_id=journey.public_id,
        summary=f"{journey.key}: {len(rows)} running enrolments exited ({reason})", after={"count": len(rows)},
    )  # fmt: skip
    publish_all(
        [
            EnrolmentFinished(
                enrolment_id=public_id,
                journey_id=journey.public_id,
                customer_id=customer_id,
                state=EnrolmentState.EXITED,
                step=step,
                reason=reason[:300],
            )  # fmt: skip
            for _, _, step, public_id, customer_id in rows
        ]
    )
    return len(rows)


__all__ = ["enrol", "exit_all", "finish", "remove"]
