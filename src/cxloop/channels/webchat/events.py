"""Events the web chat emits (see docs/events.md); a visitor's messages arrive as the framework's message.received."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cxloop.events.bus import DomainEvent


@dataclass(frozen=True)
class ChatStarted(DomainEvent):
    name: ClassVar[str] = "chat.started"
    session_id: str
    origin: str


@dataclass(frozen=True)
class ChatVisitorIdentified(DomainEvent):
    """The visitor left an email or phone; `merge_suggested` when it belongs to another customer already."""

    name: ClassVar[str] = "chat.visitor_identified"
    session_id: str
    customer_id: str
    kinds: tuple[str, ...]
    merge_suggested: bool


@dataclass(frozen=True)
class ChatMessageAdded(DomainEvent):
    """A line was appended to a chat session (by the visitor, an agent or cxloop), numbered `seq`."""

    name: ClassVar[str] = "chat.message_added"
    session_id: str
    seq: int
    direction: str
    thread_id: str
