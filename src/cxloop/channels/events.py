"""Events the channel framework emits (see docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cxloop.events.bus import DomainEvent


@dataclass(frozen=True)
class InboundReceived(DomainEvent):
    """A customer's message was kept, resolved and put on their timeline.

    `keyword` is "opt_out" or "opt_in" when the text is one of the carriers' reserved words
    (STOP, UNSUBSCRIBE, START…), so the distribution service can honour it on any channel.
    """

    name: ClassVar[str] = "message.received"
    inbound_id: str
    interaction_id: str
    customer_id: str
    thread_id: str
    channel: str
    kind: str  # message | auto_reply | bounce
    address: str  # the canonical address it came from
    keyword: str = ""


@dataclass(frozen=True)
class InboundQuarantined(DomainEvent):
    name: ClassVar[str] = "message.quarantined"
    inbound_id: str
    channel: str
    reason: str


@dataclass(frozen=True)
class AddressBounced(DomainEvent):
    """Mail to these addresses came back; a permanent bounce makes them undeliverable."""

    name: ClassVar[str] = "address.bounced"
    inbound_id: str
    channel: str
    addresses: tuple[str, ...]
    permanent: bool
    reason: str
    original_message_id: str


@dataclass(frozen=True)
class DeliveryStatusReported(DomainEvent):
    """A provider reported what became of a message we sent."""

    name: ClassVar[str] = "delivery.status_reported"
    channel: str
    provider_message_id: str
    state: str
    occurred_at: str  # ISO 8601, UTC
    error_code: str
    error_message: str
