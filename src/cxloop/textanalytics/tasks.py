"""Background scoring of the customer's words, run by `cxloop worker`.

Two ways in, one task: the schedule sweeps every minute (worker/schedule.py, "textanalytics.score_pending"), and
each process that records a customer's message kicks the task at most once per KICK_SECONDS, to run KICK_SECONDS
later, so a burst of messages is scored in one batch a few seconds after it arrives. Nothing is added to the
ingest transaction: the kick is an event subscriber (after commit), and in a steady stream it costs one task row
per process every KICK_SECONDS.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django_tasks import task

from cxloop.core import clock
from cxloop.events.bus import DomainEvent
from cxloop.interactions.events import InteractionRecorded
from cxloop.textanalytics import services

logger = logging.getLogger(__name__)

KICK_SECONDS = 2.0
# What one run of the task scores at most; the rest waits for the next run (the sweep comes every minute), so a
# large backlog (history after an upgrade) never holds a worker for long. The backfill command has no limit.
SWEEP_BATCHES = 20

# When this process may enqueue its next kick (time.monotonic()). Per process on purpose: a kick is only a
# shortcut, the minute sweep finds every row whatever happens here, so nothing needs to be shared.
_next_kick_at = 0.0


@task()
def score_pending_texts() -> int:
    """textanalytics.score_pending: score the customer's texts waiting, newest first; returns how many."""
    return services.score_pending(max_batches=SWEEP_BATCHES)


def request_scoring() -> bool:
    """Enqueue a run of score_pending_texts a little later, unless this process did so within KICK_SECONDS.
    Returns whether a task was enqueued."""
    global _next_kick_at
    now = time.monotonic()
    if now < _next_kick_at:
        return False
    _next_kick_at = now + KICK_SECONDS
    score_pending_texts.using(run_after=clock.now() + timedelta(seconds=KICK_SECONDS)).enqueue()
    return True


def reset_kick() -> None:
    """Forget the last kick (tests; a forked process)."""
    global _next_kick_at
    _next_kick_at = 0.0


def on_interaction_recorded(event: DomainEvent) -> None:
    """The "interaction.recorded" subscriber: a customer's words were stored, so ask for them to be scored.
    A failure to enqueue is logged: the minute sweep scores the row anyway."""
    if not isinstance(event, InteractionRecorded):
        return
    if not services.is_customer_text(event.channel, event.direction, event.kind):
        return
    try:
        request_scoring()
    except Exception:
        logger.exception("could not enqueue text scoring after %s", event.interaction_id)
