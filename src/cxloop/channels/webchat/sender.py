"""The chat channel's outbound side: an agent's message is delivered by appending it to the chat session."""

from __future__ import annotations

from typing import ClassVar

from cxloop.channels.base import OutboundPayload, SendOutcome
from cxloop.channels.webchat import services
from cxloop.channels.webchat.adapter import CHANNEL, message_id


class ChatSender:
    """`to` is the session's anonymous id (the customer's "anonymous" identity, which messaging picks for
    the chat channel) or the session's public id (chs_…). The outcome is "delivered": the message is in
    the session the widget reads (streamed at once to an open widget, shown on its next load otherwise).
    """

    channel: ClassVar[str] = CHANNEL

    def send(self, payload: OutboundPayload) -> SendOutcome:
        message = services.append_agent_message(payload.to, payload.text, outbound_ref=payload.message_ref)
        return SendOutcome(provider_message_id=message_id(message.session.public_id, message.seq), state="delivered")
