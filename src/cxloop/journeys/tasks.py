"""Periodic work of the journey runtime (listed in worker/schedule.py). Timers are not tasks: `cxloop worker`
claims them in bulk between its task batches (timers.process_all_due)."""

from __future__ import annotations

from django_tasks import task


@task()
def catch_up_events() -> dict[str, int]:
    """journeys.catch_up_events: the relevant customer events of the last half hour handled again, for an event
    whose subscriber never ran (enrol, wake and goal are idempotent, so the others change nothing)."""
    from cxloop.journeys import subscribers

    return subscribers.catch_up()


@task()
def sweep_date_triggers() -> int:
    """journeys.sweep_date_triggers: enrol customers whose date attribute plus the offset has come."""
    from cxloop.journeys import subscribers

    return subscribers.sweep_date_triggers()
