"""What a parsed email is made of. Plain frozen dataclasses, so the framework can store them as it likes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

EmailKind = Literal["message", "auto_reply", "bounce"]


class EmailParseError(ValueError):
    """Nothing usable could be read from the bytes; `reason` says why in words an admin understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # safe to use as a base name: no directories, no control characters, never empty
    content_type: str  # as the sender declared it, lower case
    detected_type: str  # from the first bytes; "application/octet-stream" when unknown
    size: int  # decoded size in bytes, also when the content was not kept
    content: bytes  # empty when oversized
    content_id: str = ""  # without <>, for cid: references from the HTML
    inline: bool = False
    oversized: bool = False


@dataclass(frozen=True)
class BounceInfo:
    """What a delivery failure report says about a message we sent."""

    recipients: list[str]  # the addresses that could not be reached
    status: str = ""  # enhanced status code such as "5.1.1", or a bare SMTP code such as "550"
    permanent: bool = False  # only True on evidence (5.x.x, 5xx, "user unknown"); a guess never blocks an address
    diagnostic: str = ""  # the remote server's words, as far as the report gives them
    original_message_id: str = ""  # without <>; lets the sender match the bounce to its outbound message


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str  # without <>; derived from the content ("cxloop-<hex>@missing") when the header is absent
    from_address: str
    subject: str = ""
    from_name: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)  # oldest first, without <>
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    date: datetime | None = None  # aware, in UTC
    text: str = ""  # the whole plain-text body (from HTML when there is no text part)
    html_sanitized: str = ""  # safe to render; empty when the message had no HTML
    summary_text: str = ""  # what is new in this message: quotes and signature removed
    attachments: list[ParsedAttachment] = field(default_factory=list)
    kind: EmailKind = "message"
    bounce: BounceInfo | None = None
    headers_of_interest: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
