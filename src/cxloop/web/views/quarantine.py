"""Quarantine review: inbound payloads that could not be understood, kept with the reason, to reprocess or discard."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cxloop.channels import queries as channel_queries
from cxloop.channels import services as channel_services
from cxloop.channels.models import InboundStatus
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.web.actor import web_actor
from cxloop.web.responses import staff_view

QUARANTINE_PAGE = 50
MAX_NOTE = 500


@staff_view
@require_GET
def quarantine(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CHANNELS_MANAGE)
    channel = request.GET.get("channel", "")[:16]
    page = channel_queries.list_inbound(
        actor,
        status=InboundStatus.QUARANTINED,
        channel=channel,
        cursor=request.GET.get("cursor") or None,
        limit=QUARANTINE_PAGE,
    )
    return render(request, "web/quarantine/list.html", {"page": page, "channel": channel})


@staff_view
@require_GET
def quarantine_raw(request: HttpRequest, public_id: str) -> HttpResponse:
    """The bytes exactly as they arrived, as a download (never shown inline: they are untrusted)."""
    actor = web_actor(request)
    item = channel_queries.get_inbound(actor, public_id)
    response = HttpResponse(channel_services.read_raw(item), content_type="application/octet-stream")
    extension = "eml" if item.channel == "email" else "raw"
    response["Content-Disposition"] = f'attachment; filename="{item.public_id}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_view
@require_POST
def quarantine_reprocess(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    item = channel_queries.get_inbound(actor, public_id)
    try:
        result = channel_services.reprocess(actor, item)
    except ValidationError as exc:
        messages.error(request, f"{public_id}: {exc.message}")
        return redirect("web:quarantine")
    if result.status == InboundStatus.QUARANTINED:
        messages.warning(request, f"{public_id} is still quarantined: {result.reason}")
    else:
        messages.success(request, f"{public_id} was processed.")
    return redirect("web:quarantine")


@staff_view
@require_POST
def quarantine_discard(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    item = channel_queries.get_inbound(actor, public_id)
    try:
        channel_services.discard(actor, item, note=request.POST.get("note", "")[:MAX_NOTE])
    except ValidationError as exc:
        messages.error(request, f"{public_id}: {exc.message}")
        return redirect("web:quarantine")
    messages.success(request, f"Discarded {public_id}; its bytes stay kept for the audit trail.")
    return redirect("web:quarantine")
