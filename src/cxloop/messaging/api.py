"""/api/v1 routes for outbound messages, templates, consents and the suppression list."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from cxloop.api.auth import actor_of
from cxloop.customers import queries as customer_queries
from cxloop.messaging import queries, services
from cxloop.messaging.schemas import (
    ConsentRecordOut,
    ConsentsIn,
    ConsentsOut,
    ConsentStateOut,
    MessageIn,
    MessageOut,
    MessagePage,
    PreviewIn,
    PreviewOut,
    SuppressionIn,
    SuppressionOut,
    SuppressionPage,
    TemplateIn,
    TemplateOut,
    TemplateUpdate,
    TemplateVersionIn,
    TemplateVersionOut,
)
from cxloop.messaging.types import ConsentChange, SendRequest, TemplateContent

router = Router(tags=["messaging"])


class MessageFilter(Schema):
    customer: str = Field(default="", max_length=32)
    channel: str = Field(default="", max_length=16)
    status: str = Field(default="", max_length=10)
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


class SuppressionFilter(Schema):
    channel: str = Field(default="", max_length=16)
    address: str = Field(default="", max_length=254)
    reason: str = Field(default="", max_length=20)
    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


def _content(payload: TemplateVersionIn) -> TemplateContent:
    return TemplateContent(
        locale=payload.locale, subject=payload.subject, body_text=payload.body_text, body_html=payload.body_html
    )


# --- messages ---------------------------------------------------------------------------------------------------


@router.post("/messages", response={201: MessageOut}, summary="Send a message (governed: consent, caps, quiet hours)")
def send_message(request: HttpRequest, payload: MessageIn) -> Status[Any]:
    """A blocked message is still created (status `blocked`, with `reason_code`); a retry with the same
    `Idempotency-Key` returns the same message."""
    message = services.send_message(
        actor_of(request),
        SendRequest(
            customer_id=payload.customer,
            channel=payload.channel,
            purpose=payload.purpose,
            template=payload.template,
            locale=payload.locale,
            variables=payload.variables,
            text=payload.text,
            subject=payload.subject,
            html=payload.html,
            to=payload.to,
            thread_id=payload.thread,
            quiet_hours=payload.quiet_hours,
            idempotency_key=request.headers.get("Idempotency-Key", "")[:255],
        ),
    )
    return Status(201, MessageOut.from_model(message))


@router.get("/messages", response=MessagePage, summary="Outbound messages, newest first")
def list_messages(request: HttpRequest, filters: Query[MessageFilter]) -> MessagePage:
    page = queries.list_messages(
        actor_of(request),
        customer=filters.customer,
        channel=filters.channel,
        status=filters.status,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return MessagePage(items=[MessageOut.from_model(m) for m in page.items], next_cursor=page.next_cursor)


@router.get("/messages/{message_id}", response=MessageOut, summary="One message with its delivery history")
def get_message(request: HttpRequest, message_id: str) -> MessageOut:
    return MessageOut.from_model(queries.get_message(actor_of(request), message_id), with_events=True)


# --- templates --------------------------------------------------------------------------------------------------


@router.get("/templates", response=list[TemplateOut], summary="Message templates")
def list_templates(request: HttpRequest, include_archived: bool = False, channel: str = "") -> list[TemplateOut]:
    actor = actor_of(request)
    return [
        TemplateOut.from_model(t, queries.current_versions(actor, t))
        for t in queries.list_templates(actor, include_archived=include_archived, channel=channel)
    ]


@router.post("/templates", response={201: TemplateOut}, summary="Create a template (with its first version)")
def create_template(request: HttpRequest, payload: TemplateIn) -> Status[Any]:
    actor = actor_of(request)
    template = services.create_template(
        actor,
        key=payload.key,
        name=payload.name,
        channel=payload.channel,
        purpose=payload.purpose,
        default_locale=payload.default_locale,
        content=_content(payload.content) if payload.content else None,
    )
    return Status(201, TemplateOut.from_model(template, queries.current_versions(actor, template)))


@router.get("/templates/{key}", response=TemplateOut)
def get_template(request: HttpRequest, key: str) -> TemplateOut:
    actor = actor_of(request)
    template = queries.get_template(actor, key)
    return TemplateOut.from_model(template, queries.current_versions(actor, template))


@router.patch("/templates/{key}", response=TemplateOut, summary="Rename, archive or change a template's defaults")
def update_template(request: HttpRequest, key: str, payload: TemplateUpdate) -> TemplateOut:
    actor = actor_of(request)
    template = services.update_template(actor, queries.get_template(actor, key), **payload.dict(exclude_unset=True))
    return TemplateOut.from_model(template, queries.current_versions(actor, template))


@router.delete("/templates/{key}", response={204: None}, summary="Archive a template (sent messages keep it)")
def archive_template(request: HttpRequest, key: str) -> Status[None]:
    actor = actor_of(request)
    services.update_template(actor, queries.get_template(actor, key), is_active=False)
    return Status(204, None)


@router.get("/templates/{key}/versions", response=list[TemplateVersionOut], summary="Every version, newest first")
def list_versions(request: HttpRequest, key: str, locale: str = "") -> list[TemplateVersionOut]:
    actor = actor_of(request)
    versions = queries.template_versions(actor, queries.get_template(actor, key), locale=locale)
    return [TemplateVersionOut.from_model(v) for v in versions]


@router.post(
    "/templates/{key}/versions",
    response={200: TemplateVersionOut, 201: TemplateVersionOut},
    summary="Save new content for a locale (201: a new version; 200: unchanged, the current one)",
)
def save_version(request: HttpRequest, key: str, payload: TemplateVersionIn) -> Status[Any]:
    actor = actor_of(request)
    version, created = services.save_template_version(actor, queries.get_template(actor, key), _content(payload))
    return Status(201 if created else 200, TemplateVersionOut.from_model(version))


@router.post("/templates/{key}/preview", response=PreviewOut, summary="Render for a real customer")
def preview_template(request: HttpRequest, key: str, payload: PreviewIn) -> PreviewOut:
    """Unknown variables render empty and are listed in `warnings`."""
    actor = actor_of(request)
    template = queries.get_template(actor, key)
    customer = customer_queries.get_customer(actor, payload.customer)
    preview = queries.preview_template(
        actor,
        template,
        customer,
        locale=payload.locale,
        variables=payload.variables,
        draft=_content(payload.draft) if payload.draft else None,
    )
    return PreviewOut.from_preview(template.key, preview)


# --- consents ---------------------------------------------------------------------------------------------------


def _consents(request: HttpRequest, customer_id: str) -> ConsentsOut:
    actor = actor_of(request)
    customer = customer_queries.get_customer(actor, customer_id)
    return ConsentsOut(
        customer=customer.public_id,
        current=[ConsentStateOut.from_state(s) for s in queries.consent_overview(actor, customer)],
        history=[ConsentRecordOut.from_model(r) for r in queries.consent_history(actor, customer)],
    )


@router.get("/customers/{customer_id}/consents", response=ConsentsOut, summary="Consent now and its history")
def get_consents(request: HttpRequest, customer_id: str) -> ConsentsOut:
    return _consents(request, customer_id)


@router.post("/customers/{customer_id}/consents", response=ConsentsOut, summary="Grant or withdraw consents")
def record_consents(request: HttpRequest, customer_id: str, payload: ConsentsIn) -> ConsentsOut:
    actor = actor_of(request)
    customer = customer_queries.get_customer(actor, customer_id)
    changes = [ConsentChange(c.channel, c.purpose, c.granted, c.note) for c in payload.changes]
    services.record_consents(actor, customer, changes, source=payload.source)
    return _consents(request, customer_id)


# --- suppressions -----------------------------------------------------------------------------------------------


@router.get("/suppressions", response=SuppressionPage, summary="The suppression list")
def list_suppressions(request: HttpRequest, filters: Query[SuppressionFilter]) -> SuppressionPage:
    page = queries.list_suppressions(
        actor_of(request),
        channel=filters.channel,
        address=filters.address,
        reason=filters.reason,
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return SuppressionPage(items=[SuppressionOut.from_model(s) for s in page.items], next_cursor=page.next_cursor)


@router.post("/suppressions", response={200: SuppressionOut, 201: SuppressionOut}, summary="Suppress an address")
def add_suppression(request: HttpRequest, payload: SuppressionIn) -> Status[Any]:
    row, created = services.suppress_address(
        actor_of(request), payload.channel, payload.address, payload.reason, source="staff", note=payload.note
    )
    return Status(201 if created else 200, SuppressionOut.from_model(row))


@router.delete("/suppressions/{suppression_id}", response={204: None}, summary="Lift a suppression")
def lift_suppression(request: HttpRequest, suppression_id: str) -> Status[None]:
    services.lift_suppression(actor_of(request), suppression_id)
    return Status(204, None)
