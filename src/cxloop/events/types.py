"""Plain inputs of the events services, independent of the API that produced them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class CustomerRef:
    """Who the event is about: a cxloop customer id, or identities resolved as inbound messages are."""

    id: str = ""
    email: str = ""
    phone: str = ""
    region: str | None = None
    external_id: str = ""
    network: str = ""  # the system an external_id belongs to ("shopify", "crm")
    anonymous_id: str = ""
    name: str = ""


@dataclass
class EventInput:
    event_id: str
    type: str
    customer: CustomerRef
    occurred_at: datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class EventTypeInput:
    key: str
    name: str
    description: str = ""
    properties_schema: dict[str, Any] = field(default_factory=dict)
    show_on_timeline: bool = False
    is_active: bool = True
