"""Background work of case management, run by `cxloop worker` (the periodic ones are listed in worker/schedule.py)."""

from __future__ import annotations

from django_tasks import task


@task()
def sweep_promises() -> dict[str, int]:
    """cases.sweep_promises (every minute): remind owners of promises falling due soon, and mark overdue ones
    missed with an escalation to a supervisor. Idempotent: a promise is reminded and escalated once."""
    from cxloop.cases.services import promises

    result = promises.sweep_promises()
    return {"reminded": result.reminded, "missed": result.missed, "notifications": result.notifications}
