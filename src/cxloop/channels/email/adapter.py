"""The email channel's inbound side: an RFC 5322 message in, one ParsedInbound out."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings

from cxloop.channels.base import (
    AttachmentInput,
    BounceNotice,
    ParsedInbound,
    ParsedPayload,
    PayloadRejected,
    RawPayload,
    ThreadHint,
)
from cxloop.channels.email.parsing import normalize_subject, parse_email
from cxloop.channels.email.types import EmailParseError, ParsedEmail
from cxloop.customers.types import IdentityInput
from cxloop.interactions.types import InteractionInput

# Sanitised HTML is kept with the interaction for display; beyond this only the text is kept.
MAX_HTML = 200_000
_SUMMARY = 480


def _metadata(email: ParsedEmail, payload: RawPayload) -> dict[str, Any]:
    data: dict[str, Any] = {
        "from": email.from_address,
        "to": email.to,
        "cc": email.cc,
        "date_header": email.date.isoformat() if email.date else "",
        "message_id": email.message_id,
    }
    if email.reply_to:
        data["reply_to"] = email.reply_to
    if email.html_sanitized and len(email.html_sanitized) <= MAX_HTML:
        data["html"] = email.html_sanitized
    if email.warnings:
        data["warnings"] = email.warnings[:20]
    if email.headers_of_interest:
        data["headers"] = email.headers_of_interest
    envelope = {k: payload.meta[k] for k in ("mail_from", "rcpt_tos", "mailbox") if k in payload.meta}
    if envelope:
        data["envelope"] = envelope
    return data


def _summary(email: ParsedEmail) -> str:
    new_part = " ".join((email.summary_text or email.text).split())
    if not new_part:
        new_part = email.subject or "(empty message)"
    return new_part if len(new_part) <= _SUMMARY else new_part[: _SUMMARY - 1].rstrip() + "…"


def _attachments(email: ParsedEmail) -> list[AttachmentInput]:
    return [
        AttachmentInput(
            filename=a.filename,
            content_type=a.content_type,
            content=a.content,
            size=a.size,
            detected_type=a.detected_type,
            inline=a.inline,
            content_id=a.content_id,
            oversized=a.oversized,
        )
        for a in email.attachments
    ]


def to_inbound(email: ParsedEmail, payload: RawPayload) -> ParsedInbound:
    # The timeline uses the time the message reached us: a sender's Date header may be wrong or forged.
    interaction = InteractionInput(
        channel="email",
        direction="inbound",
        occurred_at=payload.received_at,
        subject=email.subject,
        summary=_summary(email),
        body=email.text,
        external_id=email.message_id,
        metadata=_metadata(email, payload),
    )
    replied = tuple(dict.fromkeys(filter(None, [email.in_reply_to, *reversed(email.references)])))
    bounce = None
    if email.bounce is not None:
        bounce = BounceNotice(
            addresses=tuple(email.bounce.recipients),
            permanent=email.bounce.permanent,
            reason=" ".join(filter(None, [email.bounce.status, email.bounce.diagnostic]))[:500],
            original_message_id=email.bounce.original_message_id,
        )
    return ParsedInbound(
        identities=[IdentityInput(kind="email", value=email.from_address, source="email")],
        name=email.from_name,
        interaction=interaction,
        kind=email.kind,
        thread=ThreadHint(reply_to_ids=replied, subject=normalize_subject(email.subject)),
        attachments=_attachments(email),
        bounce=bounce,
    )


class EmailAdapter:
    channel: ClassVar[str] = "email"

    def parse(self, payload: RawPayload) -> ParsedPayload:
        try:
            email = parse_email(
                payload.data,
                max_attachment_bytes=settings.CXLOOP_EMAIL_MAX_ATTACHMENT_BYTES,
                max_total_bytes=settings.CXLOOP_INBOUND_MAX_BYTES,
            )
        except EmailParseError as exc:
            raise PayloadRejected(exc.reason) from None
        return ParsedPayload(messages=[to_inbound(email, payload)])
