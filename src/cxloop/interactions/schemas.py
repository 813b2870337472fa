from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from cxloop.customers.schemas import IdentityIn
from cxloop.interactions.models import Interaction


class InteractionIn(Schema):
    channel: str = Field(description="email, sms, whatsapp, chat, social, phone, survey, event or note")
    direction: str = Field(description="inbound, outbound or internal")
    occurred_at: datetime | None = None
    summary: str = Field(default="", max_length=500)
    body: str = ""
    subject: str = Field(default="", max_length=300)
    thread_ref: str = Field(default="", max_length=255, description="The channel's conversation id")
    external_id: str = Field(default="", max_length=255)
    metadata: dict[str, Any] = Field(default_factory=dict)


class InboundIn(InteractionIn):
    identities: list[IdentityIn] = Field(min_length=1, max_length=20)
    name: str = Field(default="", max_length=200)
    country: str = Field(default="", max_length=2)


class InteractionOut(Schema):
    id: str
    customer: str
    channel: str
    direction: str
    occurred_at: datetime
    summary: str
    body: str
    thread: str | None
    subject: str
    external_id: str
    case: str | None
    sentiment: float | None
    metadata: dict[str, Any]
    created_at: datetime

    @staticmethod
    def from_model(i: Interaction) -> InteractionOut:
        return InteractionOut(
            id=i.public_id,
            customer=i.customer.public_id,
            channel=i.channel,
            direction=i.direction,
            occurred_at=i.occurred_at,
            summary=i.summary,
            body=i.body,
            thread=i.thread.public_id if i.thread else None,
            subject=i.thread.subject if i.thread else "",
            external_id=i.external_id,
            case=i.case_ref or None,
            sentiment=i.sentiment,
            metadata=i.metadata,
            created_at=i.created_at,
        )


class TimelinePage(Schema):
    items: list[InteractionOut]
    next_cursor: str | None


class InboundOut(Schema):
    interaction: InteractionOut
    customer: str
    customer_created: bool
    merge_suggestions: list[str]


class InboundBatchIn(Schema):
    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=1000,
        description=(
            "Up to 1,000 inbound items, each shaped like the body of POST /interactions. Each item is checked on "
            "its own, so one invalid item is reported in its result instead of refusing the whole batch."
        ),
    )


class BatchItemError(Schema):
    code: str
    message: str
    fields: dict[str, str]


class BatchItemOut(Schema):
    index: int
    ok: bool
    interaction: str | None = Field(description="Public id of the recorded interaction")
    customer: str | None
    customer_created: bool
    merge_suggestions: list[str]
    error: BatchItemError | None


class InboundBatchOut(Schema):
    stored: int
    failed: int
    items: list[BatchItemOut]
