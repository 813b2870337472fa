"""Claiming due timers in bulk: disjoint claims, leases, paused journeys, and one failure among many."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, connections

from cxloop.journeys import engine, enrolments, services, timers
from cxloop.journeys.models import Enrolment, EnrolmentStep, JourneyTimer
from tests.journeys.runtime import SYSTEM, T0, active_journey, customer, history, run

QUIET = """
key: quiet
name: Quiet
trigger: {kind: manual}
steps:
  - {id: rest, kind: wait, duration: 1 hour, next: bye}
  - {id: bye, kind: exit}
"""


def _many(count: int, key: str = "quiet") -> list[Enrolment]:
    journey = active_journey(QUIET.replace("key: quiet", f"key: {key}"))
    people = [customer(f"C{n}", email=f"c{n}-{key}@example.com") for n in range(count)]
    return [enrolments.enrol(SYSTEM, journey, who, trigger_ref=f"m:{n}", now=T0) for n, who in enumerate(people)]


def test_claims_take_due_rows_earliest_first_and_never_twice(db):
    enrolled = _many(5)
    JourneyTimer.objects.filter(enrolment=enrolled[4]).update(due_at=T0 - timedelta(minutes=1))
    JourneyTimer.objects.filter(enrolment=enrolled[3]).update(due_at=T0 + timedelta(minutes=1))  # not due yet

    first = timers.claim("a", now=T0, limit=2)
    second = timers.claim("b", now=T0, limit=10)

    assert [row[1] for row in first] == [enrolled[4].pk, enrolled[0].pk]
    assert sorted(row[1] for row in second) == sorted(e.pk for e in enrolled[1:3])
    assert timers.claim("c", now=T0, limit=10) == []
    claimed_by = dict(JourneyTimer.objects.values_list("enrolment_id", "claimed_by"))
    assert claimed_by[enrolled[3].pk] == ""


def test_a_paused_journeys_timers_are_not_claimed(db):
    enrolled = _many(2)
    services.pause_journey(SYSTEM, enrolled[0].journey)

    assert timers.claim("a", now=T0) == []

    services.resume_journey(SYSTEM, enrolled[0].journey)
    assert len(timers.claim("a", now=T0)) == 2


def test_one_failing_enrolment_does_not_stop_the_others_and_is_retried_then_failed(db):
    enrolled = _many(3)
    broken = enrolled[1].pk
    real = engine.run_enrolment

    def flaky(pk, **kwargs):  # type: ignore[no-untyped-def]
        if pk == broken:
            raise RuntimeError("boom")
        return real(pk, **kwargs)

    def flaky_batch(pks, **kwargs):  # type: ignore[no-untyped-def]
        if broken in pks:
            raise RuntimeError("boom")  # the whole chunk rolls back and its enrolments run one by one
        return real_batch(pks, **kwargs)

    real_batch = timers.run_batch
    with (
        mock.patch.object(timers, "run_enrolment", side_effect=flaky),
        mock.patch.object(timers, "run_batch", side_effect=flaky_batch),
    ):
        assert run(T0) == 3
        states = dict(Enrolment.objects.values_list("pk", "step"))
        assert [states[e.pk] for e in enrolled] == ["rest", "rest", "rest"]
        assert history(enrolled[1])[-1] == ("rest", "error")
        assert EnrolmentStep.objects.get(enrolment=enrolled[1], outcome="error").detail == {
            "error": "RuntimeError: boom",
            "attempt": 1,
            "retry_at": (T0 + timedelta(minutes=1)).isoformat(),
        }
        at = T0
        for _ in range(4):
            at = JourneyTimer.objects.get(enrolment_id=broken).due_at
            run(at)

    failed = Enrolment.objects.get(pk=broken)
    assert (failed.state, failed.exit_reason) == ("failed", "error: RuntimeError: boom")
    assert [o for _, o in history(failed)].count("error") == 4


def test_process_due_counts_what_it_processed(db):
    _many(3)

    assert timers.process_due("w", now=T0, limit=2) == 2
    assert timers.process_due("w", now=T0, limit=2) == 1
    assert timers.process_due("w", now=T0, limit=2) == 0
    assert timers.process_due("w", now=T0 + timedelta(hours=1), limit=10) == 3
    assert set(Enrolment.objects.values_list("state", flat=True)) == {"exited"}


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_claim_the_same_timer():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time; the sequential claims above cover it")
    enrolled = _many(60, key="race")
    start = threading.Barrier(2, timeout=10)
    claims: dict[str, list[int]] = {"a": [], "b": []}

    def worker(name: str) -> None:
        try:
            start.wait()
            while rows := timers.claim(name, now=T0, limit=7):
                claims[name] += [row[1] for row in rows]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(name,)) for name in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(claims["a"] + claims["b"]) == sorted(e.pk for e in enrolled)
    assert not set(claims["a"]) & set(claims["b"])


@pytest.mark.django_db(transaction=True)
def test_two_workers_processing_at_once_run_each_step_once():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    enrolled = _many(40, key="both")
    start = threading.Barrier(2, timeout=10)

    def worker(name: str) -> None:
        try:
            start.wait()
            while timers.process_due(name, now=T0, limit=5):
                pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    for enrolment in enrolled:
        assert history(enrolment) == [("rest", "entered"), ("rest", "waiting")]
