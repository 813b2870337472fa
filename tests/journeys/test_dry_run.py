"""The dry run: the path through a journey, with times and reasons, and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cxloop.journeys.documents import load_example, parse_journey
from cxloop.journeys.dry_run import DryRunEvent, dry_run
from cxloop.journeys.models import Enrolment, EnrolmentStep
from cxloop.messaging.models import OutboundMessage
from tests.journeys.runtime import customer

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _path(run) -> list[tuple[str, str, datetime]]:  # type: ignore[no-untyped-def]
    return [(s.step, s.outcome, s.at) for s in run.steps]


def test_onboarding_for_a_customer_who_uses_the_product_on_day_two(db):
    ann = customer(time_zone="Europe/Paris")
    events = [
        DryRunEvent("account.created", START),
        DryRunEvent("product.used", START + timedelta(days=2)),
    ]

    run = dry_run(load_example("onboarding"), ann, events=events)

    day3 = START + timedelta(days=3)
    ten_paris = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)  # 10:00 in Paris (UTC+1) the morning after day 3 at 09:00
    assert _path(run) == [
        ("welcome", "entered", START),
        ("welcome", "would_run", START),
        ("wait_first_use", "waiting", START),
        ("wait_first_use", "woken", START + timedelta(days=2)),
        ("pause_a_day", "waiting", START + timedelta(days=2)),
        ("pause_a_day", "waited", day3),
        ("morning", "waiting", day3),
        ("morning", "waited", ten_paris),
        ("check_in", "would_run", ten_paris),
        ("settle_in", "waiting", ten_paris),
        ("settle_in", "waited", ten_paris + timedelta(days=14)),
        ("satisfaction", "would_run", ten_paris + timedelta(days=14)),
        ("done", "exit", ten_paris + timedelta(days=14)),
    ]
    assert (run.outcome, run.reason) == ("exited", "onboarded")
    assert run.steps[1].why == "would send onboarding-welcome by email (service; consent and quiet hours apply then)"
    assert run.steps[3].why == f"product.used came at {(START + timedelta(days=2)).isoformat()}"
    assert Enrolment.objects.count() == EnrolmentStep.objects.count() == OutboundMessage.objects.count() == 0


def test_onboarding_for_a_customer_who_never_starts_times_out_twice(db):
    run = dry_run(load_example("onboarding"), customer(), events=[DryRunEvent("account.created", START)])

    assert [(s.step, s.outcome) for s in run.steps] == [
        ("welcome", "entered"),
        ("welcome", "would_run"),
        ("wait_first_use", "waiting"),
        ("wait_first_use", "timeout"),
        ("nudge", "would_run"),
        ("wait_after_nudge", "waiting"),
        ("wait_after_nudge", "timeout"),
        ("not_started", "exit"),
    ]
    assert run.steps[-1].at == START + timedelta(days=14)
    assert run.steps[3].why == f"no product.used before {(START + timedelta(days=7)).isoformat()}"


BRANCHING = """
key: tiers
name: Tiers
trigger:
  kind: event
  event: order.placed
  conditions: {field: event.properties.total, operator: gt, value: 0}
goal: {has_event: subscription.started}
steps:
  - id: size
    kind: branch
    branches:
      - {label: big, when: {field: event.properties.total, operator: gte, value: 100}, then: thanks}
    otherwise: wait_sub
  - {id: thanks, kind: tag, add: [big-spender], next: wait_sub}
  - {id: wait_sub, kind: wait, event: subscription.started, timeout: 3 days, next: bye, on_timeout: bye}
  - {id: bye, kind: exit}
"""


def test_a_branch_explains_itself_and_the_goal_ends_a_wait(db):
    document = parse_journey(BRANCHING)
    events = [
        DryRunEvent("order.placed", START, {"total": 250}),
        DryRunEvent("subscription.started", START + timedelta(hours=5)),
    ]

    run = dry_run(document, customer(), events=events)

    assert [(s.step, s.outcome) for s in run.steps] == [
        ("size", "entered"),
        ("size", "branch"),
        ("thanks", "would_run"),
        ("wait_sub", "waiting"),
        ("wait_sub", "goal"),
    ]
    assert run.steps[1].detail == {
        "taken": "big",
        "tried": [
            {
                "branch": "big",
                "result": True,
                "checks": [
                    {
                        "field": "event.properties.total",
                        "operator": "gte",
                        "expected": 100,
                        "value": 250,
                        "result": True,
                    }
                ],
            }
        ],
    }
    assert run.steps[-1].detail == {
        "checks": [{"has_event": "subscription.started", "found": 1, "min_count": 1, "result": True}]
    }
    assert (run.outcome, run.steps[-1].at) == ("goal", START + timedelta(hours=5))


def test_trigger_conditions_that_do_not_hold_enrol_nobody(db):
    run = dry_run(parse_journey(BRANCHING), customer(), events=[DryRunEvent("order.placed", START, {"total": 0})])

    assert (run.outcome, [s.outcome for s in run.steps]) == ("not_enrolled", ["not_enrolled"])
    assert run.steps[0].detail["checks"][0]["value"] == 0
