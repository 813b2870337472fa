"""API shapes of the messaging module."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from cxloop.messaging.models import (
    ConsentRecord,
    DeliveryEvent,
    OutboundMessage,
    Suppression,
    Template,
    TemplateVersion,
)
from cxloop.messaging.queries import Preview
from cxloop.messaging.types import ConsentState


class MessageIn(Schema):
    customer: str = Field(max_length=32, description="The customer's public id (cus_…)")
    channel: str = Field(max_length=16, description="email, sms or whatsapp (the channels that can send)")
    purpose: str | None = Field(default=None, description="service or marketing; defaults to the template's")
    template: str = Field(default="", max_length=80, description="Template key; or give `text`")
    locale: str = Field(default="", max_length=16, description="Defaults to the customer's locale")
    variables: dict[str, Any] = Field(default_factory=dict, description="Extra template variables")
    text: str = Field(default="", description="Free text, when no template is used")
    subject: str = Field(default="", max_length=300)
    html: str = Field(default="", description="Email only, with free text")
    to: str = Field(default="", max_length=254, description="One of the customer's identities; default: theirs")
    thread: str = Field(default="", max_length=32, description="Thread (thr_…) to reply in")
    quiet_hours: bool = Field(default=False, description="Make a service message wait out quiet hours too")


class DeliveryEventOut(Schema):
    state: str
    occurred_at: datetime
    detail: str
    error_code: str
    applied: bool

    @staticmethod
    def from_model(e: DeliveryEvent) -> DeliveryEventOut:
        return DeliveryEventOut(
            state=e.state, occurred_at=e.occurred_at, detail=e.detail, error_code=e.error_code, applied=e.applied
        )


class MessageOut(Schema):
    id: str
    customer: str
    channel: str
    purpose: str
    to: str
    status: str
    reason_code: str
    reason: str
    template: str | None
    template_locale: str | None
    template_version: int | None
    subject: str
    text: str
    html: str
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    provider_message_id: str
    thread: str | None
    interaction: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    events: list[DeliveryEventOut] | None = None

    @staticmethod
    def from_model(m: OutboundMessage, *, with_events: bool = False) -> MessageOut:
        version = m.template_version
        return MessageOut(
            id=m.public_id,
            customer=m.customer.public_id,
            channel=m.channel,
            purpose=m.purpose,
            to=m.to_address,
            status=m.status,
            reason_code=m.reason_code,
            reason=m.reason,
            template=version.template.key if version else None,
            template_locale=version.locale if version else None,
            template_version=version.version if version else None,
            subject=m.subject,
            text=m.body_text,
            html=m.body_html,
            attempts=m.attempts,
            next_attempt_at=m.next_attempt_at,
            sent_at=m.sent_at,
            provider_message_id=m.provider_message_id,
            thread=m.thread_ref or None,
            interaction=m.interaction_ref or None,
            created_by=m.created_by_label,
            created_at=m.created_at,
            updated_at=m.updated_at,
            events=[DeliveryEventOut.from_model(e) for e in m.events.all()] if with_events else None,
        )


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None


class TemplateVersionIn(Schema):
    locale: str = Field(default="en", max_length=16)
    subject: str = Field(default="", max_length=300)
    body_text: str
    body_html: str = ""


class TemplateVersionOut(Schema):
    locale: str
    version: int
    subject: str
    body_text: str
    body_html: str
    created_by: str | None
    created_at: datetime

    @staticmethod
    def from_model(v: TemplateVersion) -> TemplateVersionOut:
        return TemplateVersionOut(
            locale=v.locale,
            version=v.version,
            subject=v.subject,
            body_text=v.body_text,
            body_html=v.body_html,
            created_by=v.created_by.get_username() if v.created_by else None,
            created_at=v.created_at,
        )


class TemplateIn(Schema):
    key: str = Field(max_length=80)
    name: str = Field(max_length=200)
    channel: str = Field(max_length=16)
    purpose: str = Field(default="service", max_length=10)
    default_locale: str = Field(default="en", max_length=16)
    content: TemplateVersionIn | None = None


class TemplateUpdate(Schema):
    name: str | None = Field(default=None, max_length=200)
    purpose: str | None = Field(default=None, max_length=10)
    default_locale: str | None = Field(default=None, max_length=16)
    is_active: bool | None = None


class TemplateOut(Schema):
    id: str
    key: str
    name: str
    channel: str
    purpose: str
    default_locale: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
    current: list[TemplateVersionOut] = Field(description="The newest version of each locale")

    @staticmethod
    def from_model(t: Template, current: list[TemplateVersion]) -> TemplateOut:
        return TemplateOut(
            id=t.public_id,
            key=t.key,
            name=t.name,
            channel=t.channel,
            purpose=t.purpose,
            default_locale=t.default_locale,
            is_active=t.is_active,
            created_at=t.created_at,
            updated_at=t.updated_at,
            current=[TemplateVersionOut.from_model(v) for v in current],
        )


class PreviewIn(Schema):
    customer: str = Field(max_length=32)
    locale: str = Field(default="", max_length=16)
    variables: dict[str, Any] = Field(default_factory=dict)
    draft: TemplateVersionIn | None = Field(default=None, description="Preview unsaved content instead")


class PreviewOut(Schema):
    template: str
    locale: str
    version: int | None
    subject: str
    text: str
    html: str
    warnings: list[str]

    @staticmethod
    def from_preview(key: str, p: Preview) -> PreviewOut:
        return PreviewOut(
            template=key,
            locale=p.locale,
            version=p.version.version if p.version else None,
            subject=p.rendered.subject,
            text=p.rendered.text,
            html=p.rendered.html,
            warnings=p.rendered.warnings,
        )


class ConsentChangeIn(Schema):
    channel: str = Field(max_length=16, description='A channel, or "*" for all (withdrawals only for marketing)')
    purpose: str = Field(max_length=10)
    granted: bool
    note: str = Field(default="", max_length=300)


class ConsentsIn(Schema):
    changes: list[ConsentChangeIn] = Field(min_length=1, max_length=50)
    source: Literal["api", "staff", "import"] = Field(default="api", description="Who the change came from")


class ConsentStateOut(Schema):
    channel: str
    purpose: str
    allowed: bool
    explicit: bool
    source: str
    at: str

    @staticmethod
    def from_state(s: ConsentState) -> ConsentStateOut:
        return ConsentStateOut(
            channel=s.channel, purpose=s.purpose, allowed=s.allowed, explicit=s.explicit, source=s.source, at=s.at
        )


class ConsentRecordOut(Schema):
    channel: str
    purpose: str
    granted: bool
    source: str
    note: str
    actor: str
    at: datetime

    @staticmethod
    def from_model(r: ConsentRecord) -> ConsentRecordOut:
        return ConsentRecordOut(
            channel=r.channel,
            purpose=r.purpose,
            granted=r.granted,
            source=r.source,
            note=r.note,
            actor=r.actor_label,
            at=r.at,
        )


class ConsentsOut(Schema):
    customer: str
    current: list[ConsentStateOut]
    history: list[ConsentRecordOut]


class SuppressionIn(Schema):
    channel: str = Field(max_length=16)
    address: str = Field(max_length=254)
    reason: str = Field(default="manual", max_length=20)
    note: str = Field(default="", max_length=300)


class SuppressionOut(Schema):
    id: str
    channel: str
    address: str
    reason: str
    source: str
    note: str
    created_at: datetime

    @staticmethod
    def from_model(s: Suppression) -> SuppressionOut:
        return SuppressionOut(
            id=s.public_id,
            channel=s.channel,
            address=s.address,
            reason=s.reason,
            source=s.source,
            note=s.note,
            created_at=s.created_at,
        )


class SuppressionPage(Schema):
    items: list[SuppressionOut]
    next_cursor: str | None
