from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cxloop.customers.types import IdentityInput


@dataclass
class InteractionInput:
    channel: str
    direction: str
    occurred_at: datetime | None = None
    summary: str = ""
    body: str = ""
    subject: str = ""
    thread_ref: str = ""
    raw_ref: str = ""
    external_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    # The case this item belongs to when it is in no conversation of that case (a note written on the case
    # page). Set only by trusted callers (case management); a conversation's case takes precedence.
    case_ref: str = ""


@dataclass
class InboundItem:
    """One inbound item of a batch: who it is from (identities, name, country) and what happened."""

    identities: list[IdentityInput]
    interaction: InteractionInput
    name: str = ""
    country: str = ""
