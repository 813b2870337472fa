"""Issue 6's "done when": customers enrolled in the shipped onboarding journey by events (POST /api/v1/events),
a real `cxloop worker` process run through weeks of waits, killed with SIGKILL in the middle of them and started
again, and every customer gets each message exactly once, in order, at the right time.

Time is moved with CXLOOP_CLOCK_OFFSET (seconds added to core.clock.now, honoured only with DEBUG on): each
phase starts a worker whose clock reads the moment the next timer is due, waits until that moment's work is done
(messages written to the file outbox by the real dispatch task), then kills it. The test process reads the same
database: a file shared with the subprocess on SQLite, the test database on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from cxloop.core import clock
from cxloop.journeys import services, subscribers
from cxloop.journeys.models import Enrolment, EnrolmentStep, JourneyTimer
from cxloop.messaging.models import OutboundMessage
from tests.journeys.runtime import SYSTEM, customer, event_type, template

pytestmark = pytest.mark.django_db(transaction=True)

SLACK = timedelta(minutes=2)  # a phase's worker starts a little after the moment it is started for
TEMPLATES = ("onboarding-welcome", "onboarding-getting-started", "onboarding-check-in")


@contextmanager
def _shared_database(tmp_path: Path) -> Iterator[str]:
    """A DATABASE_URL the subprocess can open for the database this process uses."""
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        user, host, port = settings_dict["USER"], settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
        password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
        yield f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"
        return
    # SQLite's test database lives in memory: use a file for this test, migrated here, then switch back.
    path = tmp_path / "shared.sqlite3"
    original = connections["default"]
    shared = original.__class__({**settings_dict, "NAME": str(path), "TEST": {"NAME": str(path)}}, "default")
    connections["default"] = shared
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield f"sqlite:///{path}"
    finally:
        shared.close()
        connections["default"] = original


class Worker:
    """`cxloop worker` in a subprocess whose clock reads `at` when it starts."""

    def __init__(self, database_url: str, var_dir: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH"}}
        self.env.update(
            {
                "DATABASE_URL": database_url,
                "CXLOOP_VAR_DIR": str(var_dir),
                "DEBUG": "true",
                "CXLOOP_QUIET_HOURS": "off",
                "CXLOOP_MARKETING_CAP": "off",
                "CXLOOP_STATIC_MANIFEST": "false",
            }
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, at: datetime) -> None:
        offset = (at - timezone.now()).total_seconds()
        cxloop = str(Path(sys.executable).parent / "cxloop")
        self.process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [cxloop, "worker", "--no-schedule", "--interval", "0.2"],
            env={**self.env, "CXLOOP_CLOCK_OFFSET": str(offset)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.starts += 1

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _settled(until: datetime) -> bool:
    """Nothing due by `until` is left, and every message made is sent (the outbox has it)."""
    due = JourneyTimer.objects.filter(due_at__lte=until).exists()
    unsent = OutboundMessage.objects.exclude(status__in=("sent", "blocked", "failed")).exists()
    return not due and not unsent


def _phase(worker: Worker, at: datetime) -> None:
    worker.start(at)
    deadline = time.monotonic() + 120
    while not _settled(at + SLACK):
        assert worker.alive(), worker.process.stderr.read().decode()[-3000:] if worker.process else ""
        assert time.monotonic() < deadline, "the worker did not get through the due timers"
        time.sleep(0.2)
    worker.kill()  # SIGKILL, in the middle of the waits that follow


@contextmanager
def _clock_at(moment: datetime) -> Iterator[None]:
    with mock.patch.object(clock, "now", return_value=moment):
        yield


def _post_events(client: Client, member: Any, events: list[dict[str, Any]]) -> None:
    response = client.post(
        "/api/v1/events", data=json.dumps({"events": events}), content_type="application/json", **member.headers()
    )
    assert response.status_code in (200, 201), response.content
    assert response.json()["stored"] == len(events)


def _used(event_id: str, who: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": "product.used", "customer": {"id": who.public_id}}


def _sent_at(who: Any) -> list[tuple[str, datetime]]:
    rows = EnrolmentStep.objects.filter(enrolment__customer=who, outcome="sent").order_by("seq")
    return [(row.detail["template"], row.at) for row in rows]


def _outbox(var_dir: Path) -> dict[str, list[str]]:
    """Subjects received per address, in the order the files were written."""
    received: dict[str, list[str]] = {}
    for path in sorted((var_dir / "outbox").glob("*"), key=lambda p: p.stat().st_mtime_ns):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                mail = message_from_bytes(chunk.strip())
                received.setdefault(str(mail["To"]), []).append(str(mail["Subject"]))
    return received


def _near(actual: datetime, expected: datetime) -> bool:
    return expected <= actual <= expected + SLACK


def test_onboarding_by_events_survives_killed_workers_and_sends_each_message_once_on_time(tmp_path):
    try:
        with _shared_database(tmp_path) as database_url:
            _onboarding(tmp_path, database_url)
    finally:
        subscribers.invalidate()  # the event types this test's journey listened to are no other test's


def _setup() -> None:
    from tests.feedback.factories import SurveyFactory

    for key in ("account.created", "product.used"):
        event_type(key)
    for key in TEMPLATES:
        template(key)
    SurveyFactory(key="onboarding-csat", kind="csat")
    services.activate_journey(SYSTEM, services.install_example(SYSTEM, "onboarding"))
    subscribers.invalidate()


def _onboarding(tmp_path: Path, database_url: str) -> None:
    from cxloop.accounts import services as account_services
    from cxloop.accounts.models import User

    # given: the shipped onboarding journey, active; three customers in three time zones
    _setup()
    user = User.objects.create_user(username="alice2", password="x" * 12, role="agent")
    token, secret = account_services.create_token(SYSTEM, user, name="t", scopes=["read", "write"])
    member = mock.Mock(headers=lambda: {"HTTP_AUTHORIZATION": f"Bearer {secret}"})
    ada = customer("Ada", email="ada@example.com", time_zone="America/New_York")  # uses it on day 2
    bo = customer("Bo", email="bo@example.com", time_zone="Europe/Paris")  # never does
    cy = customer("Cy", email="cy@example.com", time_zone="Asia/Tokyo")  # after the nudge, on day 9
    client, var_dir, worker = Client(), tmp_path / "var", Worker(database_url, tmp_path / "var")

    # when: they are created (enrolled by the event), and a worker runs the first steps, then is killed
    t0 = clock.now()
    _post_events(
        client,
        member,
        [
            {"event_id": f"signup-{c.pk}", "type": "account.created", "customer": {"id": c.public_id}}
            for c in (ada, bo, cy)
        ],
    )
    assert Enrolment.objects.count() == 3
    _phase(worker, t0)
    waiting_since = {e.customer_id: e.waiting_since for e in Enrolment.objects.all()}

    # Ada uses the product on day 2: the wait ends, a day's pause, then 10:00 in New York
    day2 = t0 + timedelta(days=2)
    with _clock_at(day2):
        _post_events(
            client, member, [{"event_id": "use-ada", "type": "product.used", "customer": {"id": ada.public_id}}]
        )
    _phase(worker, day2)
    ada_morning = _next_ten(day2 + timedelta(days=1), "America/New_York")
    _phase(worker, day2 + timedelta(days=1))
    _phase(worker, ada_morning)

    # Bo and Cy are nudged after 7 days; Cy starts on day 9
    nudge = waiting_since[bo.pk] + timedelta(days=7)
    _phase(worker, nudge)
    day9 = t0 + timedelta(days=9)
    with _clock_at(day9):
        _post_events(client, member, [_used("use-cy", cy)])
    _phase(worker, day9)
    cy_morning = _next_ten(day9 + timedelta(days=1), "Asia/Tokyo")
    _phase(worker, day9 + timedelta(days=1))
    _phase(worker, cy_morning)

    # Bo gives up after 7 more days; the others get the survey 14 days after the check-in
    _phase(worker, nudge + timedelta(days=7))
    _phase(worker, ada_morning + timedelta(days=14))
    _phase(worker, cy_morning + timedelta(days=14))

    # then: each message once, in order, at its time, as the outbox received them
    welcome_at = {who.pk: _sent_at(who)[0][1] for who in (ada, bo, cy)}
    assert all(_near(at, t0) for at in welcome_at.values())
    ada_sent, bo_sent, cy_sent = _sent_at(ada), _sent_at(bo), _sent_at(cy)
    assert [t for t, _ in ada_sent] == ["onboarding-welcome", "onboarding-check-in"]
    assert [t for t, _ in bo_sent] == ["onboarding-welcome", "onboarding-getting-started"]
    assert [t for t, _ in cy_sent] == ["onboarding-welcome", "onboarding-getting-started", "onboarding-check-in"]
    assert _near(ada_sent[1][1], ada_morning)
    assert ada_sent[1][1].astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") == "10:00"
    assert _near(bo_sent[1][1], nudge)
    assert _near(cy_sent[1][1], waiting_since[cy.pk] + timedelta(days=7))
    assert _near(cy_sent[2][1], cy_morning)
    assert _outbox(var_dir) == {
        "ada@example.com": ["Subject onboarding-welcome", "Subject onboarding-check-in", "How did we do?"],
        "bo@example.com": ["Subject onboarding-welcome", "Subject onboarding-getting-started"],
        "cy@example.com": [
            "Subject onboarding-welcome",
            "Subject onboarding-getting-started",
            "Subject onboarding-check-in",
            "How did we do?",  # the survey's invitation
        ],
    }
    finished = {e.customer_id: (e.state, e.exit_reason) for e in Enrolment.objects.all()}
    assert finished == {
        ada.pk: ("exited", "onboarded"),
        bo.pk: ("exited", "never used the product"),
        cy.pk: ("exited", "onboarded"),
    }
    surveyed = EnrolmentStep.objects.filter(step="satisfaction").exclude(outcome="entered")
    assert sorted(surveyed.values_list("enrolment__customer_id", flat=True)) == sorted([ada.pk, cy.pk])
    assert worker.starts == 11


def _next_ten(after: datetime, zone: str) -> datetime:
    local = after.astimezone(ZoneInfo(zone))
    candidate = datetime.combine(local.date(), datetime.min.time().replace(hour=10), tzinfo=ZoneInfo(zone))
    if candidate <= after:
        candidate = datetime.combine(
            local.date() + timedelta(days=1), datetime.min.time().replace(hour=10), tzinfo=ZoneInfo(zone)
        )
    return candidate.astimezone(UTC)
