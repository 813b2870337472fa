from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
