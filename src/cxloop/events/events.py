"""Domain events of customer-event ingestion (published on commit through events.bus)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from cxloop.events.bus import DomainEvent


@dataclass(frozen=True)
class CustomerEventReceived(DomainEvent):
    """A customer event was stored (once per event_id: a resend publishes nothing)."""

    name: ClassVar[str] = "customer_event.received"
    event_id: str
    customer_id: str
    type: str
    occurred_at: str
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EventTypeChanged(DomainEvent):
    name: ClassVar[str] = "event_type.changed"
    key: str
    created: bool
