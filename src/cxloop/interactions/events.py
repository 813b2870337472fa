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
    case_id: str = ""  # the case its conversation serves, so case management reacts without a lookup
    kind: str = "message"  # message | auto_reply | bounce (metadata "kind"); notes and calls are "message"


@dataclass(frozen=True)
class ConversationAssigned(DomainEvent):
    name: ClassVar[str] = "conversation.assigned"
    conversation_id: str
    assignee: str  # username, empty when unassigned


@dataclass(frozen=True)
class ConversationStatusChanged(DomainEvent):
    name: ClassVar[str] = "conversation.status_changed"
    conversation_id: str
    status: str
    previous: str
