"""`cxloop worker`: periodic jobs claimed once per period by any number of workers; queued tasks run."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django_tasks_db.models import DBTaskResult

from cxloop.core import clock
from cxloop.core.models import IdempotencyRecord
from cxloop.worker import schedule
from cxloop.worker.models import PeriodicJob
from cxloop.worker.schedule import Job, enqueue_due_jobs
from cxloop.worker.tasks import prune_idempotency_records

PRUNE = "cxloop.worker.tasks.prune_idempotency_records"


def _queued(path: str = PRUNE) -> int:
    return DBTaskResult.objects.filter(task_path=path, status="READY").count()


def test_a_due_job_is_enqueued_once_per_period(db):
    jobs = [Job("prune", PRUNE, timedelta(hours=1))]

    first = enqueue_due_jobs(jobs)
    second = enqueue_due_jobs(jobs)

    assert (first, second) == (["prune"], [])
    assert _queued() == 1
    claimed_at = PeriodicJob.objects.get(name="prune").last_enqueued_at
    assert claimed_at is not None


def test_the_job_is_due_again_once_its_period_has_passed(db):
    jobs = [Job("prune", PRUNE, timedelta(hours=1))]
    enqueue_due_jobs(jobs)
    PeriodicJob.objects.filter(name="prune").update(last_enqueued_at=clock.now() - timedelta(minutes=59))
    assert enqueue_due_jobs(jobs) == []

    PeriodicJob.objects.filter(name="prune").update(last_enqueued_at=clock.now() - timedelta(minutes=61))

    assert enqueue_due_jobs(jobs) == ["prune"]
    assert _queued() == 2


def test_each_job_keeps_its_own_period(db):
    jobs = [Job("hourly", PRUNE, timedelta(hours=1)), Job("daily", PRUNE, timedelta(days=1))]
    enqueue_due_jobs(jobs)
    PeriodicJob.objects.update(last_enqueued_at=clock.now() - timedelta(hours=2))

    assert enqueue_due_jobs(jobs) == ["hourly"]


def test_a_job_naming_a_missing_task_is_logged_not_fatal(db, caplog):
    jobs = [Job("ghost", "cxloop.nowhere.tasks.haunt", timedelta(hours=1)), Job("prune", PRUNE, timedelta(hours=1))]

    with caplog.at_level(logging.WARNING, logger="cxloop.worker.schedule"):
        enqueued = enqueue_due_jobs(jobs)

    assert enqueued == ["prune"]
    assert "periodic job ghost names a task that does not exist: cxloop.nowhere.tasks.haunt" in caplog.text


def test_every_scheduled_job_names_a_real_task():
    from django.utils.module_loading import import_string

    for job in schedule.SCHEDULE:
        assert callable(getattr(import_string(job.task), "enqueue", None)), job.task
        assert job.every >= timedelta(minutes=1)
    assert len({job.name for job in schedule.SCHEDULE}) == len(schedule.SCHEDULE)


@pytest.mark.django_db(transaction=True)
def test_many_workers_at_once_enqueue_a_due_job_exactly_once():
    """Real concurrency: the claim is a conditional UPDATE, so only one of the workers wins."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the claim is exercised by the sequential tests there")
    jobs = [Job("prune", PRUNE, timedelta(hours=1))]
    PeriodicJob.objects.create(name="prune")
    start = threading.Barrier(6, timeout=10)
    results: list[list[str]] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(enqueue_due_jobs(jobs))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [[], [], [], [], [], ["prune"]]
    assert _queued() == 1


# --- the command ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_worker_batch_runs_what_is_queued_and_exits(settings):
    # given: stale idempotency keys and a queued prune
    settings.CXLOOP_IDEMPOTENCY_HOURS = 24
    old = IdempotencyRecord.objects.create(scope="s", key="old", fingerprint="f")
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=clock.now() - timedelta(hours=30))
    IdempotencyRecord.objects.create(scope="s", key="fresh", fingerprint="f")
    result = prune_idempotency_records.enqueue()
    out = StringIO()

    # when
    call_command("worker", "--batch", "--no-schedule", stdout=out)

    # then
    row = DBTaskResult.objects.get(pk=result.id)
    assert (row.status, row.return_value) == ("SUCCESSFUL", 1)
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    assert out.getvalue().startswith("cxloop worker ")
    assert "enqueued periodic job" not in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_worker_batch_enqueues_due_periodic_jobs_and_runs_them(monkeypatch):
    monkeypatch.setattr(schedule, "SCHEDULE", [Job("core.prune_idempotency_records", PRUNE, timedelta(hours=1))])
    out = StringIO()

    call_command("worker", "--batch", stdout=out)
    call_command("worker", "--batch", stdout=out)  # the same period: nothing new

    assert out.getvalue().count("enqueued periodic job core.prune_idempotency_records") == 1
    assert list(DBTaskResult.objects.values_list("task_path", "status")) == [(PRUNE, "SUCCESSFUL")]
