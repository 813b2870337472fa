"""The journey runtime: moves one enrolment from its current step until it must wait or leaves the journey.

Every step is one transaction: the enrolment row is locked (PostgreSQL: SELECT … FOR UPDATE; SQLite's
IMMEDIATE transactions serialise writers), its state re-read, the goal checked, the step run (steps.py), its
history row written at the enrolment's `seq`, the enrolment moved and its timer set, moved or removed. A
worker that dies mid-step leaves nothing of that step behind; the timer's claim expires and the next worker
runs the step from the start, so a message is made once (its idempotency key is the history row's key too).

The enrolment's own version's document is run (parsed once per version and kept: versions never change).
A paused journey's enrolments are left where they are; their due timers run on resume.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from cxloop.core.actor import Actor
from cxloop.events.bus import publish
from cxloop.journeys.conditions import EventFacts, Facts, evaluate, facts_for
from cxloop.journeys.documents import validate_journey
from cxloop.journeys.elements import JourneyDocument, WaitStep, step_kind
from cxloop.journeys.events import EnrolmentFinished
from cxloop.journeys.models import (
    Enrolment,
    EnrolmentState,
    EnrolmentStep,
    JourneyStatus,
    JourneyTimer,
    JourneyVersion,
)
from cxloop.journeys.steps import Move, Visit, customer_zone, describe_wait, run_step

logger = logging.getLogger(__name__)

MAX_STEPS_PER_RUN = 200  # a document's loops all wait (graph.py); this only bounds a bug
_documents: dict[int, JourneyDocument] = {}


def runtime_actor() -> Actor:
    return Actor.system("journeys")


def document_for(version: JourneyVersion) -> JourneyDocument:
    """The typed document of a version, parsed once per process (a version never changes). The cached one is
    compared with the row's data (cheap, unlike parsing): SQLite may give a rolled-back version's id to the next."""
    document = _documents.get(version.pk)
    if document is None or document.data != version.document:
        document = validate_journey(version.document)
        if len(_documents) > 1000:
            _documents.clear()
        _documents[version.pk] = document
    return document


def _locked(enrolment_pk: int) -> Enrolment | None:
    rows = Enrolment.objects.select_related("journey", "version", "customer")
    if connection.vendor == "postgresql":
        rows = rows.select_for_update(of=("self",))
    return rows.filter(pk=enrolment_pk).first()


def write_history(
    enrolment: Enrolment,
    step: str,
    kind: str,
    outcome: str,
    at: datetime,
    detail: dict[str, Any],
    due_at: datetime | None = None,
) -> EnrolmentStep:
    """The next history row (at the enrolment's seq, which moves on; the caller saves the enrolment)."""
    row = history_row(enrolment, step, kind, outcome, at, detail, due_at)
    row.save()
    return row


def history_row(
    enrolment: Enrolment,
    step: str,
    kind: str,
    outcome: str,
    at: datetime,
    detail: dict[str, Any],
    due_at: datetime | None = None,
) -> EnrolmentStep:
    """The next history row, unsaved (the batch path inserts them together)."""
    row = EnrolmentStep(
        enrolment=enrolment, seq=enrolment.seq, step=step, kind=kind, outcome=outcome, at=at, due_at=due_at,
        detail=detail, created_at=at, updated_at=at,
    )  # fmt: skip
    enrolment.seq += 1
    return row


def finish(enrolment: Enrolment, state: str, reason: str, now: datetime) -> None:
    """Leave the journey: the state, the time, the reason; the timer goes; enrolment.finished is published."""
    JourneyTimer.objects.filter(enrolment_id=enrolment.pk).delete()
    publish(finished(enrolment, state, reason, now))


def finished(enrolment: Enrolment, state: str, reason: str, now: datetime) -> EnrolmentFinished:
    """Set the fields of a finished enrolment (unsaved); its event, to publish."""
    enrolment.state = state
    enrolment.finished_at = now
    enrolment.exit_reason = reason[:300]
    enrolment.waiting_for = ""
    enrolment.waiting_since = None
    return EnrolmentFinished(
        enrolment_id=enrolment.public_id,
        journey_id=enrolment.journey.public_id,
        customer_id=enrolment.customer.public_id,
        state=state,
        step=enrolment.step,
        reason=enrolment.exit_reason,
    )


def set_timer(enrolment: Enrolment, due_at: datetime, *, is_timeout: bool = False, attempts: int = 0) -> None:
    """The enrolment's one timer, due at `due_at`, unclaimed."""
    updated = JourneyTimer.objects.filter(enrolment_id=enrolment.pk).update(
        due_at=due_at, step=enrolment.step, is_timeout=is_timeout, attempts=attempts, claimed_by="",
        claimed_until=None,
    )  # fmt: skip
    if not updated:
        JourneyTimer.objects.create(
            enrolment=enrolment, journey_id=enrolment.journey_id, due_at=due_at, step=enrolment.step,
            is_timeout=is_timeout, attempts=attempts,
        )  # fmt: skip


def facts_of(enrolment: Enrolment, now: datetime) -> Facts:
    return facts_for(enrolment.customer, now=now, event=EventFacts.from_context(enrolment.context.get("event")))


def goal_reached(enrolment: Enrolment, document: JourneyDocument, now: datetime) -> bool:
    """Check the goal; when it holds, the enrolment leaves as converted (history row with the values read)."""
    if document.goal is None:
        return False
    verdict = evaluate(document.goal, facts_of(enrolment, now))
    if not verdict.holds:
        return False
    write_history(enrolment, enrolment.step, "goal", "goal", now, {"checks": verdict.checks})
    finish(enrolment, EnrolmentState.GOAL, "goal reached", now)
    enrolment.save()
    return True


@dataclass
class Outcome:
    """What one run did: steps written, and whether the timer was settled (moved, removed) by the run."""

    steps: int = 0
    settled: bool = False


def run_enrolment(enrolment_pk: int, *, now: datetime, actor: Actor | None = None) -> Outcome:
    """Run a due enrolment step by step (one transaction each) until it waits, leaves, or is not due."""
    outcome = Outcome()
    actor = actor or runtime_actor()
    for _ in range(MAX_STEPS_PER_RUN):
        with transaction.atomic():
            done = _one_step(enrolment_pk, now, actor, outcome)
        if done:
            return outcome
    logger.error("enrolment %s ran %d steps without waiting", enrolment_pk, MAX_STEPS_PER_RUN)
    return outcome


def _one_step(enrolment_pk: int, now: datetime, actor: Actor, outcome: Outcome) -> bool:
    """One step of the run; True when the run stops here."""
    enrolment = _locked(enrolment_pk)
    if enrolment is None:
        outcome.settled = True
        return True
    if enrolment.state != EnrolmentState.ACTIVE:
        JourneyTimer.objects.filter(enrolment_id=enrolment.pk).delete()
        outcome.settled = True
        return True
    timer = JourneyTimer.objects.filter(enrolment_id=enrolment.pk).first()
    if timer is None or timer.due_at > now:
        outcome.settled = True  # someone else moved it on (an event woke it, another worker ran it)
        return True
    if enrolment.journey.status != JourneyStatus.ACTIVE:
        return True  # paused: the timer stays due and runs on resume
    document = document_for(enrolment.version)
    outcome.steps += 1
    if goal_reached(enrolment, document, now):
        outcome.settled = True
        return True
    step = document.step(enrolment.step)
    if enrolment.waiting_since is not None and isinstance(step, WaitStep):
        _end_wait(enrolment, step, timer, now)
        return False
    visit = visit_of(enrolment, document, actor, now, timer.attempts)
    move = run_step(step, visit)
    return _apply(enrolment, step_kind(step), move, now, timer, outcome)


def visit_of(enrolment: Enrolment, document: JourneyDocument, actor: Actor, now: datetime, attempts: int) -> Visit:
    return Visit(
        actor=actor, document=document, journey_key=enrolment.journey.key, enrolment_id=enrolment.public_id,
        customer=enrolment.customer, read_facts=lambda: facts_of(enrolment, now), seq=enrolment.seq, now=now,
        attempts=attempts, first_seq=enrolment.seq - attempts,
    )  # fmt: skip


def end_wait(enrolment: Enrolment, step: WaitStep, due_at: datetime, now: datetime) -> EnrolmentStep:
    """The wait's timer came: the history row (unsaved) and the move to the next step (or on_timeout)."""
    timed_out = step.event_type is not None
    target = step.on_timeout if timed_out and step.on_timeout else step.next
    since = enrolment.waiting_since.isoformat() if enrolment.waiting_since else None
    row = history_row(
        enrolment, step.id, "wait", "timeout" if timed_out else "waited", now, {**describe_wait(step), "since": since},
        due_at=due_at,
    )  # fmt: skip
    enrolment.step = target
    enrolment.waiting_for = ""
    enrolment.waiting_since = None
    return row


def _end_wait(enrolment: Enrolment, step: WaitStep, timer: JourneyTimer, now: datetime) -> None:
    end_wait(enrolment, step, timer.due_at, now).save()
    enrolment.save(update_fields=["step", "waiting_for", "waiting_since", "seq", "updated_at"])


def _apply(enrolment: Enrolment, kind: str, move: Move, now: datetime, timer: JourneyTimer, outcome: Outcome) -> bool:
    write_history(enrolment, enrolment.step, kind, move.outcome, now, move.detail)
    if move.finish:
        finish(enrolment, move.finish, move.reason, now)
        enrolment.save()
        outcome.settled = True
        return True
    if move.wait_until is not None:
        enrolment.waiting_since = now
        enrolment.waiting_for = move.waiting_for
        enrolment.save(update_fields=["waiting_since", "waiting_for", "seq", "updated_at"])
        set_timer(enrolment, move.wait_until, is_timeout=bool(move.waiting_for))
        outcome.settled = True
        return True
    if move.retry_at is not None:
        enrolment.save(update_fields=["seq", "updated_at"])
        set_timer(enrolment, move.retry_at, attempts=timer.attempts + 1)
        outcome.settled = True
        return True
    assert move.next is not None
    enrolment.step = move.next
    enrolment.save(update_fields=["step", "seq", "updated_at"])
    if timer.attempts:
        JourneyTimer.objects.filter(pk=timer.pk).update(attempts=0)
    return False


def wake(enrolment_pk: int, event: EventFacts, *, received_at: datetime, now: datetime) -> bool:
    """An awaited event came: the wait ends, and the enrolment is due at once at the wait's `next` step.

    Only a wait for that type, begun before the event was stored, whose `where` holds for it, is woken; so a
    re-delivered event (the catch-up) or one from before the wait does nothing. True when it woke.
    """
    with transaction.atomic():
        enrolment = _locked(enrolment_pk)
        if (
            enrolment is None
            or enrolment.state != EnrolmentState.ACTIVE
            or enrolment.waiting_for != event.type
            or enrolment.waiting_since is None
            or enrolment.waiting_since > received_at
        ):
            return False
        step = document_for(enrolment.version).step(enrolment.step)
        assert isinstance(step, WaitStep)
        facts = facts_of(enrolment, now).with_event(event)
        verdict = evaluate(step.where, facts)
        if not verdict.holds:
            return False
        detail: dict[str, Any] = {"event": event.type, "event_id": event.event_id}
        if step.where is not None:
            detail["checks"] = verdict.checks
        write_history(enrolment, step.id, "wait", "woken", now, detail)
        enrolment.step = step.next
        enrolment.waiting_for = ""
        enrolment.waiting_since = None
        enrolment.save(update_fields=["step", "waiting_for", "waiting_since", "seq", "updated_at"])
        set_timer(enrolment, now)
        return True


def check_goal(enrolment_pk: int, *, now: datetime) -> bool:
    """Check an active enrolment's goal now (an event came that the goal reads); True when it was reached."""
    with transaction.atomic():
        enrolment = _locked(enrolment_pk)
        if enrolment is None or enrolment.state != EnrolmentState.ACTIVE:
            return False
        return goal_reached(enrolment, document_for(enrolment.version), now)


def fail_after_errors(enrolment_pk: int, error: str, *, now: datetime, attempts: int, retry_at: datetime) -> None:
    """An unexpected error in a run: recorded in the history; retried at `retry_at`, failed after the last try."""
    from cxloop.journeys.steps import WEBHOOK_ATTEMPTS

    with transaction.atomic():
        enrolment = _locked(enrolment_pk)
        if enrolment is None or enrolment.state != EnrolmentState.ACTIVE:
            return
        detail = {"error": error[:500], "attempt": attempts}
        if attempts >= WEBHOOK_ATTEMPTS:
            write_history(enrolment, enrolment.step, "error", "failed", now, detail)
            finish(enrolment, EnrolmentState.FAILED, f"error: {error[:200]}", now)
            enrolment.save()
            return
        write_history(enrolment, enrolment.step, "error", "error", now, {**detail, "retry_at": retry_at.isoformat()})
        enrolment.save(update_fields=["seq", "updated_at"])
        JourneyTimer.objects.filter(enrolment_id=enrolment.pk).update(
            due_at=retry_at, attempts=attempts, claimed_by="", claimed_until=None
        )


def zone_of(enrolment: Enrolment) -> Any:
    return customer_zone(enrolment.customer)
