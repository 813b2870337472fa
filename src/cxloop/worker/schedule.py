"""The one schedule of periodic jobs. Add a line here to run a module's task regularly.

Any number of workers may run: each due job is claimed with a conditional UPDATE, so exactly one worker
enqueues it per period, on SQLite and PostgreSQL alike (the Healthchecks `sendalerts` pattern).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils.module_loading import import_string

from cxloop.core import clock
from cxloop.worker.models import PeriodicJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    task: str  # dotted path of a django_tasks @task
    every: timedelta


SCHEDULE: list[Job] = [
    Job("customers.find_duplicates", "cxloop.customers.tasks.find_duplicates", timedelta(hours=24)),
    Job("core.prune_idempotency_records", "cxloop.worker.tasks.prune_idempotency_records", timedelta(hours=1)),
    Job("messaging.dispatch_due_messages", "cxloop.messaging.tasks.dispatch_due_messages", timedelta(minutes=1)),
    Job("messaging.fail_stuck_messages", "cxloop.messaging.tasks.fail_stuck_messages", timedelta(minutes=5)),
    Job("channels.poll_imap", "cxloop.channels.tasks.poll_imap", timedelta(minutes=1)),
    Job("channels.process_received", "cxloop.channels.tasks.process_received", timedelta(minutes=1)),
    Job(
        "interactions.close_waiting",
        "cxloop.interactions.tasks.close_waiting_conversations",
        timedelta(hours=1),
    ),
    Job("cases.sweep_promises", "cxloop.cases.tasks.sweep_promises", timedelta(minutes=1)),
    Job("cases.sweep_sla", "cxloop.cases.tasks.sweep_sla", timedelta(minutes=1)),
    Job("cases.close_resolved", "cxloop.cases.tasks.close_resolved", timedelta(hours=1)),
    Job("textanalytics.score_pending", "cxloop.textanalytics.tasks.score_pending_texts", timedelta(minutes=1)),
    Job("feedback.send_due_invitations", "cxloop.feedback.tasks.send_due_invitations", timedelta(minutes=1)),
    Job("feedback.expire_invitations", "cxloop.feedback.tasks.expire_invitations", timedelta(hours=1)),
    Job("automation.catch_up", "cxloop.automation.tasks.catch_up", timedelta(minutes=5)),
    Job("journeys.catch_up_events", "cxloop.journeys.tasks.catch_up_events", timedelta(minutes=5)),
    Job("journeys.sweep_date_triggers", "cxloop.journeys.tasks.sweep_date_triggers", timedelta(hours=1)),
]


def enqueue_due_jobs(schedule: list[Job] | None = None) -> list[str]:
    """Enqueue every job whose period has passed; returns the names enqueued by this call."""
    enqueued: list[str] = []
    now = clock.now()
    for job in schedule if schedule is not None else SCHEDULE:
        PeriodicJob.objects.get_or_create(name=job.name)
        claimed = PeriodicJob.objects.filter(
            Q(last_enqueued_at__isnull=True) | Q(last_enqueued_at__lte=now - job.every), name=job.name
        ).update(last_enqueued_at=now)
        if claimed != 1:
            continue
        try:
            import_string(job.task).enqueue()
            enqueued.append(job.name)
        except ImportError:
            logger.warning("periodic job %s names a task that does not exist: %s", job.name, job.task)
    return enqueued
