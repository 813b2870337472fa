"""Messaging with the real pieces around it: the database task queue, the `cxloop worker` command, many
workers at once, and start-up checks of the settings."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django_tasks_db.models import DBTaskResult

from cxloop.core.actor import Actor
from cxloop.messaging import services
from cxloop.messaging.models import OutboundMessage
from cxloop.messaging.types import SendRequest
from tests.messaging.conftest import make_customer

DISPATCH = "cxloop.messaging.tasks.dispatch_message"


@pytest.fixture
def database_queue(settings):  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db(transaction=True)
def test_a_send_is_queued_on_commit_and_the_worker_sends_it(database_queue, senders):
    # given: a message sent (committed), its dispatch task waiting in the database queue
    customer = make_customer(email="queue@example.com")
    message = services.send_message(
        Actor.system("test"), SendRequest(customer_id=customer.public_id, channel="email", text="Hi")
    )
    assert list(DBTaskResult.objects.values_list("task_path", "status")) == [(DISPATCH, "READY")]

    # when
    call_command("worker", "--batch", "--no-schedule", stdout=StringIO())

    # then
    message.refresh_from_db()
    assert message.status == "sent"
    assert [p.message_ref for p in senders["email"].sent] == [message.public_id]
    assert list(DBTaskResult.objects.values_list("status", "return_value")) == [("SUCCESSFUL", "sent")]


@pytest.mark.django_db(transaction=True)
def test_many_workers_dispatching_one_message_send_it_once(senders):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the claim is exercised by the sequential tests there")
    customer = make_customer(email="race@example.com")
    message = services.send_message(
        Actor.system("test"), SendRequest(customer_id=customer.public_id, channel="email", text="Hi")
    )
    OutboundMessage.objects.filter(pk=message.pk).update(status="queued")  # as if its task had not run yet
    senders["email"].sent.clear()
    start = threading.Barrier(6, timeout=10)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            start.wait()
            outcomes.append(services.dispatch(message.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["sent", "skipped", "skipped", "skipped", "skipped", "skipped"]
    assert len(senders["email"].sent) == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CXLOOP_QUIET_HOURS", "9pm-8am"), ("CXLOOP_MARKETING_CAP", "lots"), ("CXLOOP_SEND_MAX_ATTEMPTS", "0")],
)
def test_a_malformed_messaging_setting_stops_start_up(tmp_path: Path, variable: str, value: str):
    cxloop = str(Path(sys.executable).parent / "cxloop")
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH"}}
    env.update({"CXLOOP_VAR_DIR": str(tmp_path / "var"), variable: value})

    result = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [cxloop, "check"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode != 0
    assert variable in result.stderr
