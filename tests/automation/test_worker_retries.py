"""A webhook retry survives a real `cxloop worker` killed with SIGKILL: the waiting retry is in the database, a
worker whose clock is before its time does not send it, and a worker started again after its time sends it once,
with the same delivery id (the catch-up takes it: the deferred automation.resume_run waits for the real time,
which this test does not). Time is moved with CXLOOP_CLOCK_OFFSET (DEBUG only), as in tests/journeys/test_done_when.py,
whose shared-database and worker helpers this uses; the receiver is a real HTTP server in this process."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from cxloop.automation import runner, services, tasks
from cxloop.automation.models import RuleRun
from cxloop.automation.services import RuleInput
from cxloop.channels.outbound_webhook import DELIVERY_HEADER
from cxloop.core.actor import Actor
from cxloop.events import services as event_services
from cxloop.events.types import EventTypeInput
from tests.automation.conftest import Receiver, purchase
from tests.customers.factories import CustomerFactory
from tests.journeys import test_done_when as real_worker

pytestmark = pytest.mark.django_db(transaction=True)


def _wait(condition, worker: real_worker.Worker, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while not condition():
        assert worker.alive(), worker.process.stderr.read().decode()[-3000:] if worker.process else ""
        assert time.monotonic() < deadline, f"the worker did not {what}"
        time.sleep(0.2)


def _catch_ups_done() -> int:
    return DBTaskResult.objects.filter(task_path="cxloop.automation.tasks.catch_up", status="SUCCESSFUL").count()


def test_a_killed_worker_loses_no_retry_and_the_next_sends_it_once(tmp_path, receiver):
    with real_worker._shared_database(tmp_path) as database_url:
        # given: a run whose webhook answered 503 and waits a minute for its retry
        system = Actor.system("test")
        event_services.create_event_type(system, EventTypeInput(key="purchase.completed", name="Purchase completed"))
        services.create_rule(
            system,
            RuleInput(
                name="Tell the shop",
                trigger_source="customer_event",
                trigger_type="purchase.completed",
                actions=[{"type": "webhook", "url": receiver}],
            ),
        )
        Receiver.script = [(503, {})]
        (run,) = runner.run_rules(purchase(CustomerFactory(name="Maya Patel")))
        run.refresh_from_db()
        assert run.status == "retrying"
        due = run.lease_until
        worker = real_worker.Worker(database_url, tmp_path / "var")

        # when: a worker runs the catch-up (the schedule's, enqueued here: the helper's worker has no schedule)
        # before the retry is due, and is killed
        tasks.catch_up.enqueue()
        worker.start(timezone.now())
        _wait(lambda: _catch_ups_done() == 1, worker, "run the catch-up")
        worker.kill()

        # then: nothing sent yet
        assert len(Receiver.received) == 1
        assert RuleRun.objects.get().status == "retrying"

        # when: a worker starts again after the retry's time, and the catch-up comes round
        tasks.catch_up.enqueue()
        worker.start(due + timedelta(seconds=5))
        _wait(lambda: RuleRun.objects.get().status == "succeeded", worker, "send the retry")
        _wait(lambda: _catch_ups_done() == 2, worker, "finish the catch-up")
        worker.kill()

        # then: sent once more, with the same delivery id
        run.refresh_from_db()
        assert [r["headers"][DELIVERY_HEADER] for r in Receiver.received] == [f"{run.public_id}.0"] * 2
        assert [(a["attempt"], a["status"]) for a in run.attempts] == [(1, 503), (2, 200)]
