"""Inbound webhooks of the framework's own channels (social bridge)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cxloop.channels import services
from cxloop.channels.base import RawPayload
from cxloop.channels.models import InboundStatus
from cxloop.channels.signing import SIGNATURE_HEADER, SignatureInvalid, verify


@csrf_exempt
@require_POST
def social_webhook(request: HttpRequest) -> HttpResponse:
    """Posts and direct messages from the social bridge; the signature is checked before anything is kept."""
    if not settings.CXLOOP_SOCIAL_WEBHOOK_SECRET:
        return JsonResponse({"error": "The social channel is not configured."}, status=503)
    if len(request.body) > settings.CXLOOP_INBOUND_MAX_BYTES:
        return JsonResponse({"error": "The payload is too large."}, status=413)
    try:
        verify(settings.CXLOOP_SOCIAL_WEBHOOK_SECRET, request.body, request.headers.get(SIGNATURE_HEADER, ""))
    except SignatureInvalid as exc:
        return JsonResponse({"error": f"Signature refused: {exc}."}, status=403)
    inbound = services.receive(
        RawPayload(
            channel="social",
            data=request.body,
            content_type=request.content_type or "application/json",
            source="webhook:social",
        )
    )
    # Quarantined payloads are kept and answered 202 so the bridge does not retry them forever.
    status = 200 if inbound.status != InboundStatus.QUARANTINED else 202
    return JsonResponse(
        {
            "id": inbound.public_id,
            "status": inbound.status,
            "reason": inbound.reason,
            "interactions": inbound.interaction_refs,
        },
        status=status,
    )
