"""Events of the messaging module (noun.verb, past tense; the catalogue is docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cxloop.events.bus import DomainEvent


@dataclass(frozen=True)
class MessageQueued(DomainEvent):
    """Accepted for sending; `scheduled_for` (ISO 8601) is set when quiet hours hold it back."""

    name: ClassVar[str] = "message.queued"
    message_id: str
    customer_id: str
    channel: str
    purpose: str
    scheduled_for: str = ""


@dataclass(frozen=True)
class MessageBlocked(DomainEvent):
    name: ClassVar[str] = "message.blocked"
    message_id: str
    customer_id: str
    channel: str
    purpose: str
    reason_code: str  # suppressed | no_consent | opted_out | frequency_cap
    reason: str


@dataclass(frozen=True)
class MessageSent(DomainEvent):
    name: ClassVar[str] = "message.sent"
    message_id: str
    customer_id: str
    channel: str
    provider_message_id: str
    interaction_id: str


@dataclass(frozen=True)
class MessageDelivered(DomainEvent):
    name: ClassVar[str] = "message.delivered"
    message_id: str
    customer_id: str
    channel: str


@dataclass(frozen=True)
class MessageRead(DomainEvent):
    name: ClassVar[str] = "message.read"
    message_id: str
    customer_id: str
    channel: str


@dataclass(frozen=True)
class MessageFailed(DomainEvent):
    name: ClassVar[str] = "message.failed"
    message_id: str
    customer_id: str
    channel: str
    reason: str
    attempts: int


@dataclass(frozen=True)
class ConsentChanged(DomainEvent):
    name: ClassVar[str] = "consent.changed"
    customer_id: str
    channel: str
    purpose: str
    granted: bool
    source: str


@dataclass(frozen=True)
class AddressSuppressed(DomainEvent):
    name: ClassVar[str] = "suppression.added"
    suppression_id: str
    channel: str
    address: str
    reason: str


@dataclass(frozen=True)
class SuppressionLifted(DomainEvent):
    name: ClassVar[str] = "suppression.lifted"
    suppression_id: str
    channel: str
    address: str
    reason: str
