"""The WhatsApp Cloud API webhook: Meta's GET verification handshake and the signed POSTs.

The signature is checked before anything is kept, so a forged post leaves no trace but a 403. A
signed payload goes to the channel pipeline, which keeps it first; one that cannot be parsed is still
answered 200 (it waits in quarantine), because anything else makes Meta re-send it for days.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.channels.whatsapp.config import WhatsAppConfig
from cxloop.channels.whatsapp.signature import SIGNATURE_HEADER, is_valid_signature, verify_subscription
from cxloop.core import clock

_KEPT_HEADERS = ("Content-Type", "User-Agent", SIGNATURE_HEADER)
_MAX_CHALLENGE = 200


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _handshake(request: HttpRequest, config: WhatsAppConfig) -> HttpResponse:
    if not config.verify_token:
        return _plain("The WhatsApp channel is not configured (CXLOOP_WHATSAPP_VERIFY_TOKEN is empty).\n", 503)
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    if not verify_subscription(config.verify_token, mode, token):
        return _plain("Verification refused: hub.mode must be subscribe and hub.verify_token must match.\n", 403)
    return _plain(challenge[:_MAX_CHALLENGE], 200)


def _receive(request: HttpRequest, config: WhatsAppConfig) -> HttpResponse:
    if not config.can_receive:
        return _plain("The WhatsApp channel is not configured (CXLOOP_WHATSAPP_APP_SECRET is empty).\n", 503)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return _plain(f"Missing {SIGNATURE_HEADER} header.\n", 403)
    if not is_valid_signature(config.app_secret, signature, request.body):
        return _plain(f"Invalid {SIGNATURE_HEADER} signature.\n", 403)
    headers = {name: request.headers[name] for name in _KEPT_HEADERS if name in request.headers}
    channel_services.receive(
        RawPayload(
            channel="whatsapp",
            data=request.body,
            content_type=request.headers.get("Content-Type", "application/json"),
            source="webhook:meta",
            received_at=clock.now(),
            meta={"url": request.build_absolute_uri(), "headers": headers},
        )
    )
    return _plain("", 200)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    config = WhatsAppConfig.from_settings()
    if request.method == "GET":
        return _handshake(request, config)
    return _receive(request, config)
