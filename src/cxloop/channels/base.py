"""The contract every channel adapter meets.

An adapter knows one wire format and nothing else: the inbound side turns a raw payload into
`ParsedInbound` items (and delivery-status updates); the outbound side turns an `OutboundPayload` into
one provider call. Keeping, resolving, threading, recording and auditing are the framework's
(`channels.services`), so every channel gets them the same way and none can skip them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from cxloop.customers.types import IdentityInput
from cxloop.interactions.types import InteractionInput

InboundKind = Literal["message", "auto_reply", "bounce"]
DeliveryState = Literal["queued", "sent", "delivered", "read", "failed", "undeliverable"]
Purpose = Literal["service", "marketing"]


@dataclass(frozen=True)
class RawPayload:
    """Exactly what arrived, before any parsing: it is stored first so nothing is ever lost."""

    channel: str
    data: bytes
    content_type: str = "application/octet-stream"
    source: str = ""  # smtp, imap:<mailbox>, api, webhook:<provider>
    received_at: datetime | None = None
    # Transport facts that are not in the bytes (SMTP envelope, webhook URL and headers, IMAP uid).
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AttachmentInput:
    filename: str
    content_type: str
    content: bytes
    size: int
    detected_type: str = ""  # from the content's magic bytes; the declared type may lie
    inline: bool = False
    content_id: str = ""
    oversized: bool = False  # too big to keep: the size is recorded, the content is not


@dataclass(frozen=True)
class ThreadHint:
    """How to find the conversation an inbound item continues, strongest clue first.

    `reply_to_ids` are the channel's own ids of earlier messages (email In-Reply-To/References, a
    WhatsApp context id); `conversation_key` names a running conversation (a chat session, an SMS
    number pair); `subject` is the email fallback when the headers were lost on the way.
    """

    reply_to_ids: tuple[str, ...] = ()
    conversation_key: str = ""
    subject: str = ""


@dataclass(frozen=True)
class BounceNotice:
    addresses: tuple[str, ...]
    permanent: bool
    reason: str = ""
    original_message_id: str = ""


@dataclass
class ParsedInbound:
    """One item from a customer: who it is from and what they said."""

    identities: list[IdentityInput]
    interaction: InteractionInput
    name: str = ""
    country: str = ""
    kind: InboundKind = "message"
    thread: ThreadHint = field(default_factory=ThreadHint)
    attachments: list[AttachmentInput] = field(default_factory=list)
    bounce: BounceNotice | None = None


@dataclass(frozen=True)
class DeliveryStatusUpdate:
    """A provider telling us what became of a message we sent (Twilio status callback, WhatsApp status)."""

    channel: str
    provider_message_id: str
    state: DeliveryState
    occurred_at: datetime | None = None
    error_code: str = ""
    error_message: str = ""


@dataclass
class ParsedPayload:
    """Everything one raw payload carried: a webhook may hold several messages and statuses at once."""

    messages: list[ParsedInbound] = field(default_factory=list)
    statuses: list[DeliveryStatusUpdate] = field(default_factory=list)


class PayloadRejected(Exception):  # noqa: N818 - reads as what happened
    """The payload cannot be understood; it is kept in quarantine with `reason` for an admin to see."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InboundAdapter(Protocol):
    channel: ClassVar[str]

    def parse(self, payload: RawPayload) -> ParsedPayload:
        """Turn the raw payload into items, raising PayloadRejected when nothing usable is in it."""
        ...


@dataclass(frozen=True)
class ThreadContext:
    """What the outbound side needs to continue a conversation on the customer's device."""

    subject: str = ""
    in_reply_to: str = ""  # the channel's id of the message answered
    references: tuple[str, ...] = ()  # earlier ids of the conversation, oldest first
    conversation_key: str = ""  # the conversation's key as the inbound side set it (a chat, a DM thread)


@dataclass(frozen=True)
class OutboundPayload:
    """One rendered message to one address, as the distribution service hands it to a channel."""

    message_ref: str  # messaging's public id: the idempotency key towards the provider
    channel: str
    to: str  # canonical address: email, E.164 phone, WhatsApp id, chat session, social handle
    text: str
    subject: str = ""
    html: str = ""
    purpose: Purpose = "service"
    thread: ThreadContext = field(default_factory=ThreadContext)
    unsubscribe_url: str = ""
    automated: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendOutcome:
    provider_message_id: str
    state: DeliveryState = "sent"


class SendFailed(Exception):  # noqa: N818 - reads as what happened
    """The provider refused or could not be reached. `permanent` failures are not retried."""

    def __init__(self, reason: str, *, permanent: bool = False, code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code


class OutboundSender(Protocol):
    channel: ClassVar[str]

    def send(self, payload: OutboundPayload) -> SendOutcome:
        """Hand the message to the provider; raise SendFailed when it is not accepted."""
        ...
