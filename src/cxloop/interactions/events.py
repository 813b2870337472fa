from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cxloop.events.bus import DomainEvent


@dataclass(frozen=True)
class InteractionRecorded(DomainEvent):
    name: ClassVar[str] = "interaction.recorded"
    interaction_id: str
    customer_id: str
    channel: str
    direction: str
