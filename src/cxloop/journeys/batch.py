"""The runtime for a claimed batch of enrolments at once: the same moves as engine.py, with set-based reads and
writes, and the batch's messages made through messaging's send_messages in one call per round.

Why: 100,000 waits falling due in one minute must be run within it by two workers (issue 6), and one
transaction per step per enrolment, each with its own reads, is a few dozen round trips per enrolment. Here a
chunk of enrolments is one transaction: the enrolments locked and read with their timers in two statements,
each walked in memory through its waits, branches, goal checks and exits, the send steps of the round
collected and made in one send_messages call, then the history rows inserted in one statement, the
enrolments and timers updated in bulk. The guarantees are the engine's: all of a chunk commits or none of it,
and every side effect carries its history row's key, so a chunk run again after a crash makes nothing twice.

A step kind without a batch form (open_case, send_survey, set_attribute, tag, webhook) ends the enrolment's
walk here: its progress so far is saved, and it is handed back to run through engine.run_enrolment. So is
every enrolment of a chunk that failed as a whole (the engine then records each one's own error).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from cxloop.core.actor import Actor
from cxloop.events.bus import DomainEvent, publish_all
from cxloop.journeys.conditions import evaluate
from cxloop.journeys.elements import BranchStep, ExitStep, JourneyDocument, SendMessageStep, WaitStep, step_kind
from cxloop.journeys.engine import (
    MAX_STEPS_PER_RUN,
    document_for,
    end_wait,
    facts_of,
    finished,
    history_row,
    visit_of,
)
from cxloop.journeys.models import (
    Enrolment,
    EnrolmentState,
    EnrolmentStep,
    JourneyStatus,
    JourneyTimer,
    JourneyVersion,
)
from cxloop.journeys.steps import run_step, send_request, sent

_BATCH_KINDS = (WaitStep, BranchStep, ExitStep, SendMessageStep)
_ENROLMENT_FIELDS = ("step", "seq", "state", "waiting_for", "waiting_since", "finished_at", "exit_reason")


@dataclass
class _Walk:
    enrolment: Enrolment
    document: JourneyDocument
    timer: JourneyTimer
    moved: bool = False
    stopped: bool = False
    handed_back: bool = False
    sending: SendMessageStep | None = None
    wait_until: datetime | None = None
    steps: int = 0


@dataclass
class _Writes:
    history: list[EnrolmentStep] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    finished_timers: list[int] = field(default_factory=list)
    waits: list[JourneyTimer] = field(default_factory=list)


def run_batch(enrolment_pks: Sequence[int], *, now: datetime, actor: Actor) -> set[int]:
    """Run the due enrolments among `enrolment_pks` in one transaction; returns those handed back to the
    per-enrolment engine (a step kind without a batch form; a claim to release, as for a paused journey)."""
    with transaction.atomic():
        rows = Enrolment.objects.select_related("journey", "customer").filter(pk__in=list(enrolment_pks))
        if connection.vendor == "postgresql":
            rows = rows.select_for_update(of=("self",)).order_by("pk")
        enrolments = list(rows)
        # The few versions once, not a copy of the document (and its source text) with every enrolment.
        versions = JourneyVersion.objects.in_bulk({e.version_id for e in enrolments})
        for enrolment in enrolments:
            enrolment.version = versions[enrolment.version_id]
        timers = {t.enrolment_id: t for t in JourneyTimer.objects.filter(enrolment_id__in=list(enrolment_pks))}
        writes, walks, handed_back = _Writes(), [], set()
        for enrolment in enrolments:
            timer = timers.get(enrolment.pk)
            if enrolment.state != EnrolmentState.ACTIVE:
                if timer is not None:
                    writes.finished_timers.append(timer.pk)
                continue
            if timer is None or timer.due_at > now:
                continue
            if enrolment.journey.status != JourneyStatus.ACTIVE:
                handed_back.add(enrolment.pk)  # its claim is released there; the timer waits for resume
                continue
            walks.append(_Walk(enrolment, document_for(enrolment.version), timer))
        _walk_all(walks, writes, now, actor)
        handed_back |= {w.enrolment.pk for w in walks if w.handed_back}
        _save(walks, writes, now)
    return handed_back


def _walk_all(walks: list[_Walk], writes: _Writes, now: datetime, actor: Actor) -> None:
    from cxloop.messaging import services as messaging_services

    for _ in range(MAX_STEPS_PER_RUN):
        for walk in walks:
            while not walk.stopped and walk.sending is None:
                _advance(walk, writes, now)
        sending = [w for w in walks if w.sending is not None and not w.stopped]
        if not sending:
            return
        visits = [visit_of(w.enrolment, w.document, actor, now, w.timer.attempts) for w in sending]
        requests = [send_request(w.sending, v) for w, v in zip(sending, visits, strict=True)]  # type: ignore[arg-type]
        results: list[Any] = list(messaging_services.send_messages(actor, requests))
        for walk, result in zip(sending, results, strict=True):
            step = walk.sending
            assert step is not None
            move = sent(step, result)
            writes.history.append(history_row(walk.enrolment, step.id, "send_message", move.outcome, now, move.detail))
            assert move.next is not None
            walk.enrolment.step = move.next
            walk.sending = None
            walk.moved = True


def _advance(walk: _Walk, writes: _Writes, now: datetime) -> None:
    """One step of one enrolment, in memory."""
    enrolment, document = walk.enrolment, walk.document
    walk.steps += 1
    if walk.steps > MAX_STEPS_PER_RUN:
        walk.stopped = True
        return
    if document.goal is not None:
        verdict = evaluate(document.goal, facts_of(enrolment, now))
        if verdict.holds:
            writes.history.append(
                history_row(enrolment, enrolment.step, "goal", "goal", now, {"checks": verdict.checks})
            )
            _finish(walk, writes, EnrolmentState.GOAL, "goal reached", now)
            return
    step = document.step(enrolment.step)
    if enrolment.waiting_since is not None and isinstance(step, WaitStep):
        writes.history.append(end_wait(enrolment, step, walk.timer.due_at, now))
        walk.moved = True
        return
    if not isinstance(step, _BATCH_KINDS):
        walk.stopped = walk.handed_back = True
        return
    if isinstance(step, SendMessageStep):
        walk.sending = step
        return
    move = run_step(step, visit_of(enrolment, document, Actor.system("journeys"), now, walk.timer.attempts))
    writes.history.append(history_row(enrolment, step.id, step_kind(step), move.outcome, now, move.detail))
    walk.moved = True
    if move.finish:
        _finish(walk, writes, move.finish, move.reason, now)
    elif move.wait_until is not None:
        enrolment.waiting_since = now
        enrolment.waiting_for = move.waiting_for
        timer = walk.timer
        timer.due_at, timer.step, timer.is_timeout = move.wait_until, enrolment.step, bool(move.waiting_for)
        timer.attempts, timer.claimed_by, timer.claimed_until = 0, "", None
        writes.waits.append(timer)
        walk.stopped = True
    else:
        assert move.next is not None
        enrolment.step = move.next


def _finish(walk: _Walk, writes: _Writes, state: str, reason: str, now: datetime) -> None:
    writes.events.append(finished(walk.enrolment, state, reason, now))
    writes.finished_timers.append(walk.timer.pk)
    walk.moved = walk.stopped = True


def _save(walks: list[_Walk], writes: _Writes, now: datetime) -> None:
    """Write the chunk's moves: one INSERT for the history, one UPDATE per distinct new state of enrolments
    and timers (a chunk's walks mostly end alike, so these are few; Django's bulk_update builds a CASE per row
    and field, which costs more than the whole walk)."""
    EnrolmentStep.objects.bulk_create(writes.history, batch_size=1000)
    enrolments: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for walk in walks:
        if walk.moved:
            enrolment = walk.enrolment
            enrolments[tuple(getattr(enrolment, name) for name in _ENROLMENT_FIELDS)].append(enrolment.pk)
    for values, pks in enrolments.items():
        Enrolment.objects.filter(pk__in=pks).update(**dict(zip(_ENROLMENT_FIELDS, values, strict=True)), updated_at=now)
    timers: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for timer in writes.waits:
        timers[(timer.due_at, timer.step, timer.is_timeout)].append(timer.pk)
    for (due_at, step, is_timeout), pks in timers.items():
        JourneyTimer.objects.filter(pk__in=pks).update(
            due_at=due_at, step=step, is_timeout=is_timeout, attempts=0, claimed_by="", claimed_until=None
        )
    if writes.finished_timers:
        JourneyTimer.objects.filter(pk__in=writes.finished_timers).delete()
    publish_all(writes.events)
