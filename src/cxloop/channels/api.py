"""/api/v1/inbound: the kept raw payloads (quarantine review) and raw email upload."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from cxloop.api.auth import actor_of
from cxloop.channels import queries, services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import InboundMessage
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm

router = Router(tags=["inbound"])


class InboundOut(Schema):
    id: str
    channel: str
    source: str
    received_at: datetime
    content_type: str
    size: int
    sha256: str
    status: str
    reason: str
    attempts: int
    processed_at: datetime | None
    customer_id: str
    interaction_ids: list[str]
    meta: dict[str, Any]

    @staticmethod
    def of(item: InboundMessage) -> InboundOut:
        return InboundOut(
            id=item.public_id,
            channel=item.channel,
            source=item.source,
            received_at=item.received_at,
            content_type=item.content_type,
            size=item.size,
            sha256=item.sha256,
            status=item.status,
            reason=item.reason,
            attempts=item.attempts,
            processed_at=item.processed_at,
            customer_id=item.customer_ref,
            interaction_ids=list(item.interaction_refs),
            meta=item.meta,
        )


class InboundPage(Schema):
    items: list[InboundOut]
    next_cursor: str | None


class InboundFilter(Schema):
    status: str = ""
    channel: str = ""
    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


class DiscardIn(Schema):
    note: str = Field(default="", max_length=500)


# Declared before /inbound/{inbound_id}: routes match in order, and "email" is not an id.
@router.post(
    "/inbound/email",
    response={201: InboundOut},
    summary="Upload one raw email (.eml) as if it had arrived by SMTP",
    description="Send the message as a multipart file field `file`, as the request body with "
    'Content-Type message/rfc822, or as JSON `{"raw_base64": "…"}`. It is kept, then parsed; '
    "a message that cannot be parsed is "
    "quarantined (status `quarantined`, with the reason) rather than refused.",
)
def upload_email(request: HttpRequest, file: File[UploadedFile] | None = None) -> Status[InboundOut]:
    actor = actor_of(request)
    actor.require(Perm.INTERACTIONS_WRITE)
    data = _email_bytes(request, file)
    inbound = services.receive(
        RawPayload(
            channel="email",
            data=data,
            content_type="message/rfc822",
            source="api",
            meta={"uploaded_by": actor.label, "filename": file.name if file is not None else ""},
        )
    )
    return Status(201, InboundOut.of(inbound))


@router.get("/inbound", response=InboundPage, summary="Kept inbound payloads (quarantine review)")
def list_inbound(request: HttpRequest, filters: Query[InboundFilter]) -> InboundPage:
    page = queries.list_inbound(actor_of(request), **filters.dict())
    return InboundPage(items=[InboundOut.of(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/inbound/{inbound_id}", response=InboundOut, summary="One kept inbound payload")
def get_inbound(request: HttpRequest, inbound_id: str) -> InboundOut:
    return InboundOut.of(queries.get_inbound(actor_of(request), inbound_id))


@router.get("/inbound/{inbound_id}/raw", summary="The raw bytes exactly as they arrived")
def get_inbound_raw(request: HttpRequest, inbound_id: str) -> HttpResponse:
    item = queries.get_inbound(actor_of(request), inbound_id)
    response = HttpResponse(services.read_raw(item), content_type="application/octet-stream")
    extension = "eml" if item.channel == "email" else "raw"
    response["Content-Disposition"] = f'attachment; filename="{item.public_id}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.post("/inbound/{inbound_id}/reprocess", response=InboundOut, summary="Parse a kept payload again")
def reprocess(request: HttpRequest, inbound_id: str) -> InboundOut:
    actor = actor_of(request)
    return InboundOut.of(services.reprocess(actor, queries.get_inbound(actor, inbound_id)))


@router.post("/inbound/{inbound_id}/discard", response=InboundOut, summary="Dismiss a quarantined payload")
def discard(request: HttpRequest, inbound_id: str, payload: DiscardIn) -> InboundOut:
    actor = actor_of(request)
    return InboundOut.of(services.discard(actor, queries.get_inbound(actor, inbound_id), note=payload.note))


def _json_email(body: bytes) -> bytes:
    try:
        document = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationError("The body is not JSON.", fields={"raw_base64": "required"}) from None
    value = document.get("raw_base64") if isinstance(document, dict) else None
    if not isinstance(value, str) or not value:
        raise ValidationError("Give the message as raw_base64.", fields={"raw_base64": "required"})
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("raw_base64 is not valid base64.", fields={"raw_base64": "not base64"}) from None


def _email_bytes(request: HttpRequest, file: UploadedFile | None) -> bytes:
    limit = settings.CXLOOP_INBOUND_MAX_BYTES
    if file is not None:
        if file.size is not None and file.size > limit:
            raise ValidationError("The file is too large.", fields={"file": f"must be at most {limit} bytes"})
        data = bytes(file.read())
    elif (request.content_type or "").startswith(("message/rfc822", "application/octet-stream", "text/plain")):
        data = request.body
    elif request.content_type == "application/json":
        data = _json_email(request.body)
    else:
        raise ValidationError(
            'Send the email as a multipart field `file`, as a message/rfc822 body, or as JSON {"raw_base64": …}.',
            fields={"file": "required"},
        )
    if not data.strip():
        raise ValidationError("The email is empty.", fields={"file": "is empty"})
    if len(data) > limit:
        raise ValidationError("The email is too large.", fields={"file": f"must be at most {limit} bytes"})
    return data
