"""The social channel's wire format: one JSON shape for posts, comments and direct messages.

Networks differ and their APIs change often, so cxloop does not talk to each one: a bridge (an
integration platform, or a small script per network) posts each item here in this format and receives
our replies in the same format. docs/channels/social.md describes both directions.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any, ClassVar, Literal

from django.conf import settings
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from cxloop.channels.base import (
    OutboundPayload,
    ParsedInbound,
    ParsedPayload,
    PayloadRejected,
    RawPayload,
    SendFailed,
    SendOutcome,
    ThreadHint,
)
from cxloop.channels.signing import SIGNATURE_HEADER, sign
from cxloop.customers.types import IdentityInput
from cxloop.interactions.types import InteractionInput

MAX_ITEMS = 100


class Author(BaseModel):
    model_config = ConfigDict(extra="ignore")
    handle: str = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=200)


class SocialItem(BaseModel):
    model_config = ConfigDict(extra="ignore")
    network: str = Field(min_length=1, max_length=50)
    id: str = Field(min_length=1, max_length=255)
    author: Author
    text: str = Field(default="", max_length=100_000)
    url: str = Field(default="", max_length=2000)
    visibility: Literal["public", "private"] = "public"
    in_reply_to: str = Field(default="", max_length=255)
    conversation_id: str = Field(default="", max_length=255)
    occurred_at: datetime | None = None


class SocialBatch(BaseModel):
    items: list[SocialItem] = Field(min_length=1, max_length=MAX_ITEMS)


def _describe(exc: PydanticValidationError) -> str:
    problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]]
    return "The social payload is not valid: " + "; ".join(problems)


def _items(body: Any) -> list[SocialItem]:
    try:
        if isinstance(body, dict) and "items" in body:
            return SocialBatch.model_validate(body).items
        return [SocialItem.model_validate(body)]
    except PydanticValidationError as exc:
        raise PayloadRejected(_describe(exc)) from None


def _parsed(item: SocialItem) -> ParsedInbound:
    network = item.network.strip().lower()
    private = item.visibility == "private"
    # Direct messages are one running conversation per author; public posts thread by what they answer.
    key = f"social:{network}:dm:{item.author.handle.lower()}" if private else ""
    if not private and item.conversation_id:
        key = f"social:{network}:post:{item.conversation_id}"
    return ParsedInbound(
        identities=[IdentityInput(kind="social", value=item.author.handle, network=network, source="social")],
        name=item.author.name,
        interaction=InteractionInput(
            channel="social",
            direction="inbound",
            occurred_at=item.occurred_at,
            body=item.text,
            external_id=f"{network}:{item.id}",
            metadata={"network": network, "url": item.url, "visibility": item.visibility, "handle": item.author.handle},
        ),
        thread=ThreadHint(
            reply_to_ids=(f"{network}:{item.in_reply_to}",) if item.in_reply_to else (),
            conversation_key=key,
        ),
    )


class SocialAdapter:
    channel: ClassVar[str] = "social"

    def parse(self, payload: RawPayload) -> ParsedPayload:
        try:
            body = json.loads(payload.data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PayloadRejected(f"The body is not JSON ({exc}).") from None
        return ParsedPayload(messages=[_parsed(item) for item in _items(body)])


class SocialSender:
    """Replies go to the bridge's URL, signed with the same secret, in the inbound item's shape."""

    channel: ClassVar[str] = "social"

    def send(self, payload: OutboundPayload) -> SendOutcome:
        url = settings.CXLOOP_SOCIAL_OUTBOUND_URL
        if not url:
            raise SendFailed("No social bridge is configured (CXLOOP_SOCIAL_OUTBOUND_URL).", permanent=True)
        network, _, handle = payload.to.partition(":")
        body = json.dumps(
            {
                "id": payload.message_ref,
                "network": payload.metadata.get("network", network),
                "to": handle or payload.to,
                "text": payload.text,
                "in_reply_to": payload.thread.in_reply_to.partition(":")[2] or payload.thread.in_reply_to,
                # A reply in a direct-message conversation stays private; elsewhere it is a public reply.
                "visibility": "private" if ":dm:" in payload.thread.conversation_key else "public",
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the admin's configured bridge
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(settings.CXLOOP_SOCIAL_WEBHOOK_SECRET, body),
                "Idempotency-Key": payload.message_ref,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise SendFailed(
                f"The social bridge answered {exc.code}.",
                permanent=400 <= exc.code < 500 and exc.code != 429,
                code=str(exc.code),
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SendFailed(f"The social bridge could not be reached ({exc}).") from None
        except json.JSONDecodeError:
            answer = {}
        provider_id = str(answer.get("id") or payload.message_ref) if isinstance(answer, dict) else payload.message_ref
        return SendOutcome(provider_message_id=f"{network}:{provider_id}" if network else provider_id)
