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


@task()
def close_resolved() -> dict[str, int]:
    """cases.close_resolved (hourly): resolved cases close CXLOOP_CASE_AUTO_CLOSE_DAYS after they were resolved;
    a customer writing after that starts a new case (a repeat contact). Idempotent: only resolved cases close."""
    from cxloop.cases.services import intake

    return {"closed": intake.close_resolved_cases()}


@task()
def sweep_sla() -> dict[str, int]:
    """cases.sweep_sla (every minute): warn SLA clocks entering their warning window and breach those past due
    (sla.warning / sla.breached events), set-based. Idempotent: each clock is warned and breached once."""
    from cxloop.cases.services import sla

    result = sla.sweep()
    return {"warned": result.warned, "breached": result.breached, "cases": result.cases}
