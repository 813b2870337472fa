"""Background work of automation rules, run by `cxloop worker` (the periodic one is in worker/schedule.py)."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def run_rules(occurrence: dict[str, Any]) -> dict[str, Any]:
    """automation.run_rules: the rules for one cxloop event (enqueued by the subscriber after its commit).
    Idempotent: each rule's run is unique per event, and a run's recorded actions are never done again."""
    from cxloop.automation import runner

    runs = runner.run_rules(runner.Occurrence.of(occurrence))
    return {"ref": occurrence.get("ref", ""), "runs": {run.public_id: run.status for run in runs}}


@task()
def process_new_events() -> dict[str, int]:
    """automation.process_new_events: the rules for the customer events stored since the last pass, kicked a
    couple of seconds after ingest (runner.request_processing). Idempotent as run_rules."""
    from cxloop.automation import runner

    return runner.process_new_events()


@task()
def resume_run(run_id: int) -> str:
    """automation.resume_run: run again the actions a retry cleared, or send a webhook whose automatic retry fell
    due (enqueued deferred to then; runner.resume_run). Idempotent: the run is claimed by its lease (a task that
    comes early, late or twice finds it taken, not due, or finished), and actions with an outcome are not done
    again."""
    from cxloop.automation import runner

    run = runner.resume_run(run_id)
    return run.status if run is not None else "not resumed"


@task()
def catch_up() -> dict[str, int]:
    """automation.catch_up (every few minutes): customer events stored without a run (the process died after the
    commit, or the queue lost the task) and runs interrupted midway. Idempotent as run_rules."""
    from cxloop.automation import runner

    return runner.catch_up()
