"""The chat channel's wire format and its two sides.

Inbound, the payload is written by our own visitor API (`services.post_visitor_message`), never by the
visitor: the session id and anonymous id in it come from the database, so the adapter only has to turn
it into one message from the session's anonymous identity, threaded by the session.

Outbound (sender.py), "sending" is appending the agent's message to the session the widget reads.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from cxloop.channels.base import (
    ParsedInbound,
    ParsedPayload,
    PayloadRejected,
    RawPayload,
    ThreadHint,
)
from cxloop.customers.types import IdentityInput
from cxloop.interactions.types import InteractionInput

CHANNEL = "chat"


class ChatLine(BaseModel):
    model_config = ConfigDict(extra="ignore")
    session: str = Field(min_length=1, max_length=32)
    anonymous_id: str = Field(min_length=1, max_length=40)
    seq: int = Field(ge=1)
    text: str = Field(min_length=1, max_length=100_000)
    sent_at: datetime | None = None
    name: str = Field(default="", max_length=200)
    origin: str = Field(default="", max_length=200)


def conversation_key(session_id: str) -> str:
    return f"{CHANNEL}:{session_id}"


def message_id(session_id: str, seq: int) -> str:
    """The channel's own id of a chat line, in both directions: "chat:<session>:<seq>"."""
    return f"{CHANNEL}:{session_id}:{seq}"


def encode_line(line: ChatLine) -> bytes:
    return line.model_dump_json().encode()


class ChatAdapter:
    channel: ClassVar[str] = CHANNEL

    def parse(self, payload: RawPayload) -> ParsedPayload:
        try:
            line = ChatLine.model_validate(json.loads(payload.data))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PayloadRejected(f"The body is not JSON ({exc}).") from None
        except PydanticValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
            raise PayloadRejected(f"The chat payload is not valid: {problems}") from None
        item = ParsedInbound(
            identities=[IdentityInput(kind="anonymous", value=line.anonymous_id, source="chat")],
            name=line.name,
            interaction=InteractionInput(
                channel=CHANNEL,
                direction="inbound",
                occurred_at=line.sent_at,
                body=line.text,
                external_id=message_id(line.session, line.seq),
                metadata={"session": line.session, "seq": line.seq, "origin": line.origin},
            ),
            thread=ThreadHint(conversation_key=conversation_key(line.session)),
        )
        return ParsedPayload(messages=[item])
