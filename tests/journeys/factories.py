"""Journeys and enrolments for tests of the management side. Enrolments are written as rows here (the runtime
makes them in production), so analytics and pages can be tested with exact, hand-placed figures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.customers.models import Customer
from cxloop.journeys import services
from cxloop.journeys.models import Enrolment, EnrolmentStep, Journey, JourneyVersion
from tests.customers.factories import CustomerFactory

SIMPLE = """# a journey for tests
key: {key}
name: {name}
trigger:
  kind: event
  event: {event}
steps:
  - id: welcome
    kind: send_message
    channel: email
    template: test.welcome
    purpose: service
    next: wait_a_day
  - id: wait_a_day
    kind: wait
    duration: 1 day
    next: done
  - id: done
    kind: exit
    reason: finished
"""


def simple_source(key: str = "welcome", name: str = "Welcome", event: str = "account.created") -> str:
    return SIMPLE.format(key=key, name=name, event=event)


def make_journey(key: str = "welcome", *, status: str = "draft", event: str = "account.created") -> Journey:
    system = Actor.system("test")
    journey = services.create_journey(system, simple_source(key, key.title(), event))
    if status in ("active", "paused"):
        journey = services.activate_journey(system, journey)
    if status == "paused":
        journey = services.pause_journey(system, journey)
    if status == "archived":
        journey = services.archive_journey(system, journey)
    return journey


_counter = iter(range(1, 10**9))


def enrolment(
    journey: Journey,
    *,
    step: str,
    state: str = "active",
    version: JourneyVersion | None = None,
    customer: Customer | None = None,
    entered_at: datetime | None = None,
    exit_reason: str = "",
    passed: tuple[str, ...] = (),
    detail: dict[str, Any] | None = None,
) -> Enrolment:
    """An enrolment at `step` whose history passed through `passed` (then `step`)."""
    n = next(_counter)
    at = entered_at or clock.now()
    row = Enrolment.objects.create(
        journey=journey,
        version=version or journey.current_version,
        customer=customer or CustomerFactory(),
        state=state,
        step=step,
        trigger_ref=f"test:{n}",
        entered_at=at,
        finished_at=None if state == "active" else at + timedelta(hours=1),
        exit_reason=exit_reason,
        seq=len(passed) + 1,
    )
    for seq, name in enumerate((*passed, step)):
        EnrolmentStep.objects.create(
            enrolment=row,
            seq=seq,
            step=name,
            kind="wait" if name.startswith("wait") else "step",
            outcome="done" if name != step else ("waiting" if state == "active" else state),
            at=at + timedelta(minutes=seq),
            detail=detail or {},
        )
    return row
