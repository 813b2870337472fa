"""How a conversation's messages read on the page: chat bubbles, with delivery status, attachments and email HTML.

Outbound messages become interactions only once a channel has taken them, so a reply that is still queued,
held for quiet hours, blocked or failed is shown from its messaging record instead, at the end.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.core.files.storage import default_storage

from cxloop.channels import queries as channel_queries
from cxloop.channels.models import Attachment
from cxloop.core.actor import Actor
from cxloop.interactions.models import Channel, Direction, Interaction, Thread
from cxloop.messaging import queries as messaging_queries
from cxloop.messaging.models import MessageStatus, OutboundMessage

# How far back a customer's outbound messages are read to find this conversation's delivery states.
MESSAGES_LOOKBACK = 200
_NOT_YET_ON_TIMELINE = frozenset(
    {
        MessageStatus.QUEUED,
        MessageStatus.SCHEDULED,
        MessageStatus.SENDING,
        MessageStatus.BLOCKED,
        MessageStatus.FAILED,
    }
)
# The email's sanitised HTML goes into a sandboxed frame (no scripts, no forms, no same-origin) whose own
# policy also refuses every remote load: no tracking pixels, no web fonts, nothing leaves the machine.
_EMAIL_DOCUMENT = (
    '<!doctype html><html><head><meta charset="utf-8">'
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
    "style-src 'unsafe-inline'\">"
    '<base target="_blank">'
    "<style>body{font:14px/1.5 system-ui,sans-serif;color:#1e293b;margin:.5rem;overflow-wrap:anywhere}"
    "img{max-width:100%;height:auto}table{max-width:100%}</style></head><body>"
)


@dataclass
class Bubble:
    """One message, note or pending reply as the conversation column shows it."""

    key: str
    direction: str
    channel: str
    channel_label: str
    at: datetime | None
    text: str
    author: str = ""
    full_text: str = ""  # the whole body when `text` is only the new part (email quotes stripped)
    html_document: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    status: str = ""
    status_label: str = ""
    reason: str = ""
    message_id: str = ""
    # What text analytics read in the customer's words (empty until the message is scored).
    sentiment: float | None = None
    sentiment_label: str = ""
    emotion: str = ""

    @property
    def is_problem(self) -> bool:
        return self.status in (MessageStatus.BLOCKED, MessageStatus.FAILED)


def thread_messages(actor: Actor, thread: Thread) -> list[OutboundMessage]:
    """Outbound messages sent in this conversation (the most recent ones, for their delivery status)."""
    page = messaging_queries.list_messages(
        actor, customer=thread.customer.public_id, thread=thread.public_id, limit=MESSAGES_LOOKBACK
    )
    return page.items


# Inline (cid:) images are shown inside the sandboxed frame as data: URLs, the only images its policy
# allows: raster types by their detected bytes (never SVG, which can carry script), within a budget.
_INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_INLINE_MAX_BYTES = 512 * 1024
_INLINE_BUDGET = 2 * 1024 * 1024
_CID_SRC = re.compile(r'src="cid:([^"]+)"', re.IGNORECASE)


def _inline_images(attachments: list[Attachment]) -> dict[str, str]:
    found: dict[str, str] = {}
    budget = _INLINE_BUDGET
    for attachment in attachments:
        if (
            not attachment.content_id
            or attachment.detected_type not in _INLINE_TYPES
            or not attachment.storage_path
            or attachment.size > min(_INLINE_MAX_BYTES, budget)
        ):
            continue
        try:
            with default_storage.open(attachment.storage_path, "rb") as handle:
                content = handle.read(_INLINE_MAX_BYTES + 1)
        except OSError:
            continue
        budget -= len(content)
        encoded = base64.b64encode(content).decode("ascii")
        found[attachment.content_id.strip("<>").lower()] = f"data:{attachment.detected_type};base64,{encoded}"
    return found


def _email_document(interaction: Interaction, attachments: list[Attachment]) -> str:
    html = interaction.metadata.get("html") if isinstance(interaction.metadata, dict) else None
    if not isinstance(html, str) or not html.strip():
        return ""
    if "cid:" in html.lower():
        images = _inline_images(attachments)
        if images:
            html = _CID_SRC.sub(
                lambda m: f'src="{images[m.group(1).lower()]}"' if m.group(1).lower() in images else m.group(0), html
            )
    return _EMAIL_DOCUMENT + html + "</body></html>"


def _texts(interaction: Interaction) -> tuple[str, str]:
    """What the bubble shows, and the full body behind "show quoted text" (empty when they are the same)."""
    body, summary = interaction.body, interaction.summary
    if interaction.channel == Channel.EMAIL and interaction.direction == Direction.INBOUND and summary:
        full = body if body.strip() and " ".join(body.split()) != " ".join(summary.split()) else ""
        return summary, full
    return body or summary, ""


def _author(interaction: Interaction, message: OutboundMessage | None) -> str:
    if message is not None and message.created_by_label:
        return message.created_by_label
    if interaction.created_by is not None:
        return str(interaction.created_by.get_username())
    return ""


def _status(bubble: Bubble, message: OutboundMessage | None) -> None:
    if message is None:
        return
    bubble.status = message.status
    bubble.status_label = message.get_status_display()
    bubble.reason = message.reason
    bubble.message_id = message.public_id


def interaction_bubble(
    interaction: Interaction, attachments: list[Attachment], message: OutboundMessage | None
) -> Bubble:
    text, full = _texts(interaction)
    bubble = Bubble(
        key=interaction.public_id,
        direction=interaction.direction,
        channel=interaction.channel,
        channel_label=interaction.get_channel_display(),
        at=interaction.occurred_at,
        text=text,
        full_text=full,
        author=_author(interaction, message),
        html_document=_email_document(interaction, attachments),
        attachments=attachments,
    )
    _status(bubble, message)
    _scores(bubble, interaction)
    return bubble


def _scores(bubble: Bubble, interaction: Interaction) -> None:
    if interaction.text_analysed_at is None or interaction.sentiment is None:
        return
    label = interaction.metadata.get("sentiment_label") if isinstance(interaction.metadata, dict) else None
    bubble.sentiment = interaction.sentiment
    bubble.sentiment_label = label if isinstance(label, str) else ""
    bubble.emotion = interaction.emotion


def pending_bubble(message: OutboundMessage) -> Bubble:
    bubble = Bubble(
        key=message.public_id,
        direction=Direction.OUTBOUND,
        channel=message.channel,
        channel_label=Channel(message.channel).label if message.channel in Channel.values else message.channel,
        at=message.created_at,
        text=message.body_text,
        author=message.created_by_label,
    )
    _status(bubble, message)
    return bubble


def bubbles(actor: Actor, thread: Thread, interactions: list[Interaction], *, newest_page: bool) -> list[Bubble]:
    """The page's interactions as bubbles; on the newest page, followed by replies not on the timeline yet."""
    messages = thread_messages(actor, thread)
    by_interaction = {m.interaction_ref: m for m in messages if m.interaction_ref}
    by_id = {m.public_id: m for m in messages}
    files = channel_queries.attachments_of(actor, [i.pk for i in interactions])
    shown: list[Bubble] = []
    for interaction in interactions:
        message_ref = interaction.metadata.get("message", "") if isinstance(interaction.metadata, dict) else ""
        message = by_interaction.get(interaction.public_id) or by_id.get(str(message_ref))
        shown.append(interaction_bubble(interaction, files.get(interaction.pk, []), message))
    if newest_page:
        pending = [m for m in messages if not m.interaction_ref and m.status in _NOT_YET_ON_TIMELINE]
        shown += [pending_bubble(m) for m in sorted(pending, key=lambda m: (m.created_at, m.pk))]
    return shown
