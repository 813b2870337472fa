"""The demo's journeys: both examples installed (both active), what they name exists, and
onboarding's history is spread over its steps and states, each waiting enrolment with its timer."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.demo import journeys as demo_journeys
from cxloop.demo.builder import DemoBuilder
from cxloop.events.models import EventType
from cxloop.feedback.models import Survey
from cxloop.journeys.models import Enrolment, EnrolmentStep, Journey, JourneyTimer
from cxloop.messaging.models import Template
from tests.customers.factories import CustomerFactory


@pytest.fixture(autouse=True)
def _quick(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.VAR_DIR = tmp_path


def test_the_demo_installs_both_examples_with_onboarding_running(db):
    summary = DemoBuilder(customers=40, seed=7).build()

    assert summary.journeys is not None
    assert dict(Journey.objects.values_list("key", "status")) == {"onboarding": "active", "win_back": "active"}
    assert summary.journeys.enrolments == Enrolment.objects.filter(journey__key="onboarding").count()
    assert summary.journeys.enrolments == 13  # a third of the 40 customers


def test_what_the_examples_name_exists(db):
    demo_journeys.build_journeys(Actor.system("demo"), clock.now(), random.Random(1), [])

    assert set(EventType.objects.values_list("key", flat=True)) >= {
        "account.created",
        "product.used",
        "session.started",
    }
    assert set(Template.objects.values_list("key", flat=True)) == {
        "onboarding-welcome",
        "onboarding-getting-started",
        "onboarding-check-in",
        "win-back-we-miss-you",
    }
    assert Survey.objects.get(key="onboarding-csat").status == "active"


def test_onboarding_history_is_spread_over_steps_and_states_and_waits_have_timers(db):
    customers = [CustomerFactory() for _ in range(300)]

    summary = demo_journeys.build_journeys(Actor.system("demo"), clock.now(), random.Random(3), customers)

    enrolments = Enrolment.objects.filter(journey__key="onboarding")
    states = set(enrolments.values_list("state", flat=True))
    steps = set(enrolments.filter(state="active").values_list("step", flat=True))
    assert summary.enrolments == 100
    assert states == {"active", "exited"}  # a failed check-in is rarer (1.5% of those who reach it)
    assert steps >= {"wait_first_use", "settle_in"}
    assert set(enrolments.filter(state="exited").values_list("exit_reason", flat=True)) == {
        "onboarded",
        "never used the product",
    }
    waiting = enrolments.filter(state="active")
    assert JourneyTimer.objects.count() == waiting.count() == summary.running
    assert not JourneyTimer.objects.filter(due_at__lte=clock.now() - timedelta(seconds=1)).exists()
    for row in enrolments:
        assert list(EnrolmentStep.objects.filter(enrolment=row).values_list("seq", flat=True)) == list(range(row.seq))
        assert EnrolmentStep.objects.filter(enrolment=row).order_by("-seq").first().step == row.step


def test_a_second_run_adds_nothing(db):
    customers = [CustomerFactory() for _ in range(9)]
    actor = Actor.system("demo")
    demo_journeys.build_journeys(actor, clock.now(), random.Random(3), customers)

    again = demo_journeys.build_journeys(actor, clock.now(), random.Random(3), customers)

    assert again.enrolments == 0
    assert Enrolment.objects.count() == 3
    assert Journey.objects.count() == 2


def test_the_runtime_carries_on_from_the_imported_waits(db):
    from cxloop.journeys import timers

    now = clock.now()
    demo_journeys.build_journeys(Actor.system("demo"), now, random.Random(3), [CustomerFactory() for _ in range(300)])
    later = now + timedelta(days=8)
    due = {t.enrolment_id: (t.step, t.due_at) for t in JourneyTimer.objects.filter(due_at__lte=later)}
    assert len(due) >= 10

    timers.process_due("demo-test", now=later, limit=1000)

    for enrolment_id, (step, due_at) in due.items():
        ended = EnrolmentStep.objects.filter(enrolment_id=enrolment_id, step=step, due_at=due_at).exclude(
            outcome="waiting"
        )
        assert list(ended.values_list("outcome", flat=True)) in (["waited"], ["timeout"]), enrolment_id
        assert Enrolment.objects.get(pk=enrolment_id).step != step
