"""Twilio's webhooks: an incoming SMS and the status callbacks of messages we sent.

The signature is checked before anything is kept, so a forged request leaves no trace but a 403. A
signed payload is handed to the channel pipeline, which keeps it first; even one that cannot be parsed
is answered 200 (it waits in quarantine), because an error would only make Twilio send it again.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.channels.sms.config import TwilioConfig
from cxloop.channels.sms.signature import SIGNATURE_HEADER, form_params, is_valid_signature
from cxloop.core import clock

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
_KEPT_HEADERS = ("Content-Type", "User-Agent", SIGNATURE_HEADER, "I-Twilio-Idempotency-Token")


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


def request_url(request: HttpRequest, public_url: str) -> str:
    """The URL Twilio called: behind a proxy Django sees another scheme or host, so the public one wins."""
    if public_url:
        return public_url.rstrip("/") + request.get_full_path()
    return request.build_absolute_uri()


def _receive(request: HttpRequest) -> HttpResponse:
    config = TwilioConfig.from_settings()
    if not config.can_receive:
        return _plain("The SMS channel is not configured (CXLOOP_TWILIO_AUTH_TOKEN is empty).", 503)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        return _plain(f"Missing {SIGNATURE_HEADER} header.", 403)
    url = request_url(request, config.public_url)
    try:
        params = form_params(request.body)
    except UnicodeDecodeError:
        return _plain("The body is not UTF-8 form data, so its signature cannot match.", 403)
    if not is_valid_signature(config.auth_token, signature, url, params):
        return _plain(f"Invalid {SIGNATURE_HEADER} signature.", 403)
    headers = {name: request.headers[name] for name in _KEPT_HEADERS if name in request.headers}
    channel_services.receive(
        RawPayload(
            channel="sms",
            data=request.body,
            content_type=request.headers.get("Content-Type", "application/x-www-form-urlencoded"),
            source="webhook:twilio",
            received_at=clock.now(),
            meta={"url": url, "headers": headers},
        )
    )
    return HttpResponse(EMPTY_TWIML, content_type="text/xml; charset=utf-8")


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    return _receive(request)


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    return _receive(request)
