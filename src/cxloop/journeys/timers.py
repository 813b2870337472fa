"""Due timers, claimed in bulk and run: the loop `cxloop worker` calls between its task batches.

A claim is one statement. On PostgreSQL:

    UPDATE journeys_journeytimer SET claimed_by = %s, claimed_until = %s
    WHERE id IN (SELECT t.id FROM journeys_journeytimer t JOIN journeys_journey j ON j.id = t.journey_id
                 WHERE t.due_at <= %s AND (t.claimed_until IS NULL OR t.claimed_until < %s)
                   AND j.status = 'active'
                 ORDER BY t.due_at LIMIT %s FOR UPDATE OF t SKIP LOCKED)
    RETURNING id, enrolment_id

so workers side by side take disjoint rows without waiting on each other. SQLite has one writer at a time
(IMMEDIATE transactions), where a select and a conditional UPDATE in one transaction is the same thing. The
claim is a lease (CLAIM_SECONDS): a worker that dies leaves rows that are due again once it runs out, and
the engine re-reads each enrolment under its lock, so a late worker finds nothing left to do. A paused
journey's timers are not claimed; they run when it resumes. A failing enrolment is recorded and retried with
backoff without holding up the others.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.journeys.batch import run_batch
from cxloop.journeys.engine import fail_after_errors, run_enrolment, runtime_actor
from cxloop.journeys.models import Journey, JourneyStatus, JourneyTimer

logger = logging.getLogger(__name__)

CLAIM_SECONDS = 300
BATCH_CHUNK = 250  # enrolments per transaction of the batch path (journeys/batch.py)
ERROR_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


def claim(worker_id: str, *, now: datetime, limit: int = 500) -> list[tuple[int, int, int]]:
    """Claim up to `limit` due timers for `worker_id`: [(timer id, enrolment id, attempts)], earliest due first."""
    until = now + timedelta(seconds=CLAIM_SECONDS)
    if connection.vendor == "postgresql":
        return _claim_postgresql(worker_id, now, until, limit)
    with transaction.atomic():
        ids = list(
            JourneyTimer.objects.filter(
                Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
                due_at__lte=now,
                journey__status=JourneyStatus.ACTIVE,
            )
            .order_by("due_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        JourneyTimer.objects.filter(pk__in=ids).update(claimed_by=worker_id, claimed_until=until)
        rows = JourneyTimer.objects.filter(pk__in=ids).order_by("due_at").values_list("pk", "enrolment_id", "attempts")
        return [(pk, enrolment_id, attempts) for pk, enrolment_id, attempts in rows]


def _claim_postgresql(worker_id: str, now: datetime, until: datetime, limit: int) -> list[tuple[int, int, int]]:
    timers, journeys = JourneyTimer._meta.db_table, Journey._meta.db_table
    sql = f"""
        UPDATE {timers} SET claimed_by = %s, claimed_until = %s
        WHERE id IN (
            SELECT t.id FROM {timers} t JOIN {journeys} j ON j.id = t.journey_id
            WHERE t.due_at <= %s AND (t.claimed_until IS NULL OR t.claimed_until < %s) AND j.status = %s
            ORDER BY t.due_at LIMIT %s FOR UPDATE OF t SKIP LOCKED)
        RETURNING id, enrolment_id, attempts, due_at
    """  # noqa: S608 - table names from the models, values as parameters
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [worker_id, until, now, now, JourneyStatus.ACTIVE, limit])
        rows = sorted(cursor.fetchall(), key=lambda row: row[3])
    return [(pk, enrolment_id, attempts) for pk, enrolment_id, attempts, _ in rows]


def release(timer_pk: int, worker_id: str) -> None:
    JourneyTimer.objects.filter(pk=timer_pk, claimed_by=worker_id).update(claimed_by="", claimed_until=None)


def process_due(worker_id: str, *, limit: int = 500, now: datetime | None = None) -> int:
    """Claim the due timers (up to `limit`) and run each claimed enrolment; returns how many were processed.

    `now` (tests) fixes the time; by default each enrolment runs at core.clock.now() (which honours
    CXLOOP_CLOCK_OFFSET when DEBUG or tests allow it)."""
    fixed = now
    claimed = claim(worker_id, now=fixed or clock.now(), limit=limit)
    actor = runtime_actor()
    attempts_of = {enrolment_pk: attempts for _, enrolment_pk, attempts in claimed}
    timer_of = {enrolment_pk: timer_pk for timer_pk, enrolment_pk, _ in claimed}
    pks = list(attempts_of)
    for start in range(0, len(pks), BATCH_CHUNK):
        chunk = pks[start : start + BATCH_CHUNK]
        now = fixed or clock.now()  # each chunk at the time it runs, so the history shows the real lag
        try:
            one_by_one = sorted(run_batch(chunk, now=now, actor=actor))
        except Exception:  # the chunk rolled back; each enrolment runs alone and records its own error
            logger.exception("a batch of journey enrolments failed; running them one by one")
            one_by_one = chunk
        for enrolment_pk in one_by_one:
            _run_one(enrolment_pk, timer_of[enrolment_pk], attempts_of[enrolment_pk], worker_id, fixed, actor)
    return len(claimed)


def _run_one(
    enrolment_pk: int, timer_pk: int, attempts: int, worker_id: str, fixed: datetime | None, actor: Actor
) -> None:
    now = fixed or clock.now()
    try:
        outcome = run_enrolment(enrolment_pk, now=now, actor=actor)
    except Exception as exc:  # one broken enrolment must not stop the batch
        logger.exception("journey enrolment %s failed", enrolment_pk)
        retry_at = now + ERROR_BACKOFF[min(attempts, len(ERROR_BACKOFF) - 1)]
        try:
            fail_after_errors(
                enrolment_pk, f"{type(exc).__name__}: {exc}", now=now, attempts=attempts + 1, retry_at=retry_at
            )
        except Exception:
            logger.exception("could not record the failure of enrolment %s", enrolment_pk)
        return
    if not outcome.settled:
        release(timer_pk, worker_id)


def process_all_due(worker_id: str, *, limit: int = 500, max_batches: int = 1000) -> int:
    """process_due until nothing is due (the worker's loop); returns the total processed."""
    total = 0
    for _ in range(max_batches):
        done = process_due(worker_id, limit=limit)
        total += done
        if done < limit:
            break
    return total
