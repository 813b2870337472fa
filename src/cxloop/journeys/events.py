"""Domain events of journeys (published on commit through events.bus; listed in docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cxloop.events.bus import DomainEvent


@dataclass(frozen=True)
class JourneyPublished(DomainEvent):
    """A new version of a journey's document was saved (number 1 when the journey was created)."""

    name: ClassVar[str] = "journey.published"
    journey_id: str
    key: str
    version: int


@dataclass(frozen=True)
class JourneyStatusChanged(DomainEvent):
    """Activated, paused, resumed or archived (`status` is the new one)."""

    name: ClassVar[str] = "journey.status_changed"
    journey_id: str
    key: str
    status: str
    previous: str


@dataclass(frozen=True)
class EnrolmentStarted(DomainEvent):
    name: ClassVar[str] = "enrolment.started"
    enrolment_id: str
    journey_id: str
    version: int
    customer_id: str
    trigger_ref: str


@dataclass(frozen=True)
class EnrolmentFinished(DomainEvent):
    """Left the journey: `state` is goal, exited or failed; `step` the step it left from."""

    name: ClassVar[str] = "enrolment.finished"
    enrolment_id: str
    journey_id: str
    customer_id: str
    state: str
    step: str
    reason: str
