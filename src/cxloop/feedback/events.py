"""Events of feedback (listed in docs/events.md). Ids are public ids; users are usernames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cxloop.events.bus import DomainEvent


@dataclass(frozen=True)
class SurveySent(DomainEvent):
    """An invitation went out (or was shown, for the web widget and the end of a chat)."""

    name: ClassVar[str] = "survey.sent"
    invitation_id: str
    survey: str  # the survey's key
    customer_id: str
    channel: str
    trigger: str


@dataclass(frozen=True)
class ResponseReceived(DomainEvent):
    name: ClassVar[str] = "response.received"
    response_id: str
    invitation_id: str
    survey: str
    kind: str
    customer_id: str
    score: int | None
    sentiment: float | None
    emotion: str
    case_id: str


@dataclass(frozen=True)
class LoopOpened(DomainEvent):
    name: ClassVar[str] = "loop.opened"
    loop_id: str
    response_id: str
    customer_id: str
    case_id: str
    rule: str
    owner: str


@dataclass(frozen=True)
class LoopContacted(DomainEvent):
    name: ClassVar[str] = "loop.contacted"
    loop_id: str
    case_id: str


@dataclass(frozen=True)
class LoopClosed(DomainEvent):
    name: ClassVar[str] = "loop.closed"
    loop_id: str
    case_id: str
    outcome: str
    hours_to_close: float
