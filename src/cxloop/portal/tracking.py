"""The website tracking snippet: one script tag on a business's website sends page views and, once the visitor
logs in there, who the visitor is.

The public endpoint takes no staff login, so it checks everything a browser could abuse before anything is
written: the page's origin (CXLOOP_TRACKING_ORIGINS, else the chat's allowed origins; 403 for others), a rate per
client address (429), the body's size (413) and shape (422 with the path of each bad field), and for an identify
the signature the website's backend made (HMAC-SHA256 of "email:<email>", "phone:<phone>" or
"external:<network>:<id>" with CXLOOP_TRACKING_SECRET, the survey widget's recipe and helper; 403 otherwise), so
a visitor cannot claim someone else's email. The snippet posts text/plain (navigator.sendBeacon and a simple
fetch need no CORS preflight), so the body is parsed as JSON whatever its content type says.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.http import require_GET

from cxloop.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from cxloop.events import tracking
from cxloop.events.types import CustomerRef, EventInput
from cxloop.portal import cross_site
from cxloop.portal.survey_widget import sign

SCRIPT = Path(__file__).with_name("static") / "portal" / "track.js"
MAX_BODY_BYTES = 32 * 1024
MAX_EVENTS = 50
ANONYMOUS_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CLIENT_EVENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
NETWORK = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
DEFAULT_NETWORK = "website"
VALUE_MAX = 254

View = Callable[..., HttpResponseBase]


class TrackingOffError(NotFoundError):
    code = "tracking_off"


class SignatureError(PermissionDeniedError):
    code = "invalid_signature"


# --- who may call: origins, rate ----------------------------------------------------------------------------------
def allowed_origins(request: HttpRequest) -> set[str]:
    """The websites whose pages may send events ("*": any), and this instance itself."""
    return cross_site.allowed_origins(request, settings.CXLOOP_TRACKING_ORIGINS or settings.CXLOOP_CHAT_ALLOWED_ORIGINS)


_cors = cross_site.cross_site_post(allowed_origins, "This website may not send events here (CXLOOP_TRACKING_ORIGINS).")


def _events(raw: Any, errors: dict[str, str]) -> list[EventInput]:
    if not isinstance(raw, list) or len(raw) > MAX_EVENTS:
        errors["events"] = f"must be a list of at most {MAX_EVENTS} events"
        return []
    events: list[EventInput] = []
    for index, item in enumerate(raw):
        where = f"events[{index}]"
        if not isinstance(item, dict):
            errors[where] = "must be an object"
            continue
        event_id, kind, properties = item.get("id"), item.get("type"), item.get("properties", {})
        if not isinstance(event_id, str) or not CLIENT_EVENT_ID.match(event_id):
            errors[f"{where}.id"] = "use 1 to 64 letters, digits and . _ : -"
        if not isinstance(kind, str) or not kind or len(kind) > 100:
            errors[f"{where}.type"] = "must be an event type key"
        if not isinstance(properties, dict):
            errors[f"{where}.properties"] = "must be an object"
        occurred_at = None
        if item.get("occurred_at") is not None:
            try:
                occurred_at = datetime.fromisoformat(str(item["occurred_at"]))
            except ValueError:
                errors[f"{where}.occurred_at"] = "must be an ISO 8601 time with an offset"
        if not any(key.startswith(where) for key in errors):
            events.append(
                EventInput(
                    event_id=str(event_id),
                    type=str(kind),
                    customer=CustomerRef(),
                    occurred_at=occurred_at,
                    properties=dict(properties),
                )
            )
    return events


def _identity(raw: Any, errors: dict[str, str]) -> tuple[tracking.VisitorIdentity, str] | None:
    """The claimed identity and its signature: exactly one of email, phone or external_id (with a network)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors["identify"] = "must be an object"
        return None
    given = [(kind, raw.get(field)) for kind, field in (("email", "email"), ("phone", "phone"))]
    given.append(("external", raw.get("external_id")))
    claims = [(kind, value) for kind, value in given if value not in (None, "")]
    if len(claims) != 1 or not isinstance(claims[0][1], str) or len(claims[0][1]) > VALUE_MAX:
        errors["identify"] = f"give one of email, phone or external_id (a string of at most {VALUE_MAX} characters)"
        return None
    network = raw.get("network") or DEFAULT_NETWORK
    name, signature = raw.get("name", ""), raw.get("signature")
    if not isinstance(network, str) or not NETWORK.match(network):
        errors["identify.network"] = "use lower-case letters, digits, '.', '_' or '-' (at most 50)"
    if not isinstance(name, str) or len(name) > 200:
        errors["identify.name"] = "must be a string of at most 200 characters"
    if not isinstance(signature, str) or not 0 < len(signature) <= 128:
        errors["identify.signature"] = "must be the hex HMAC-SHA256 the website's server made"
    if any(key.startswith("identify") for key in errors):
        return None
    kind, value = claims[0]
    return tracking.VisitorIdentity(kind=kind, value=str(value).strip(), network=str(network), name=str(name)), str(
        signature
    )


def _check_signature(identity: tracking.VisitorIdentity, signature: str) -> None:
    secret = str(settings.CXLOOP_TRACKING_SECRET or settings.CXLOOP_SURVEY_WIDGET_SECRET)
    if not secret:
        raise SignatureError("Identify is off here: no CXLOOP_TRACKING_SECRET is set, so no claim can be checked.")
    expected = sign(identity.kind, identity.value, secret, network=identity.network or DEFAULT_NETWORK)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureError(
            'The signature does not match the claimed identity: sign "email:<email>", "phone:<phone>" or '
            '"external:<network>:<id>" with HMAC-SHA256 and CXLOOP_TRACKING_SECRET, in hex (docs/events.md).'
        )


@_cors
def collect(request: HttpRequest) -> HttpResponse:
    """POST {anonymous_id, events: [{id, type, occurred_at, properties}], identify: {email|phone|external_id,
    network, name, signature}}: 200 with a count per outcome and the errors of refused events by index."""
    cross_site.rate_limit(request, "tracking", int(settings.CXLOOP_TRACKING_PER_MINUTE))
    data = cross_site.json_object(request, MAX_BODY_BYTES)
    errors: dict[str, str] = {}
    anonymous_id = data.get("anonymous_id")
    if not isinstance(anonymous_id, str) or not ANONYMOUS_ID.match(anonymous_id):
        errors["anonymous_id"] = "use 8 to 64 letters, digits, '-' or '_'"
    events = _events(data.get("events", []), errors)
    claim = _identity(data.get("identify"), errors)
    if errors:
        raise ValidationError("The tracking request is not valid.", fields=errors)
    if claim is not None:
        _check_signature(*claim)  # before any read or write
    if not events and claim is None:
        return JsonResponse({"stored": 0, "duplicates": 0, "failed": 0, "identified": False, "errors": []})
    actor = tracking.tracking_actor(cross_site.client_address(request) or None)
    outcome = tracking.track_visitor(actor, str(anonymous_id), events, claim[0] if claim else None)
    refused = [
        {"index": r.index, "code": r.error.code, "fields": r.error.fields}
        for r in outcome.results
        if r.error is not None
    ]
    return JsonResponse(
        {
            "stored": sum(r.status == "stored" for r in outcome.results),
            "duplicates": sum(r.status == "duplicate" for r in outcome.results),
            "failed": len(refused),
            "identified": bool(outcome.customer_id),
            "errors": refused,
        }
    )


# --- the script ---------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _script() -> tuple[bytes, str]:
    content = SCRIPT.read_bytes()
    return content, '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


@require_GET
def script(request: HttpRequest) -> HttpResponse:
    """The one script a website embeds; cached like the chat's widget, loadable from any site."""
    content, etag = _script()
    if request.headers.get("If-None-Match", "") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(content, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={int(settings.CXLOOP_CHAT_WIDGET_MAX_AGE)}"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
