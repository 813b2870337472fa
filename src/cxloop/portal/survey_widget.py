"""The survey web widget: one script tag on a business's website shows a logged-in visitor a survey in a panel.

Who the visitor is comes from the website's backend, never from the browser alone: the page carries the
customer's email (or the business's own id for them) and an HMAC-SHA256 of "<kind>:<value>" made with
CXLOOP_SURVEY_WIDGET_SECRET, the way Intercom's identity verification works. Without the secret nobody can make
cxloop ask, or answer as, another customer; a wrong signature is 403 and creates nothing. A visitor who is not
logged in but chatted in the web chat may be asked as the chat's (anonymous) customer: the chat token the
browser holds is the proof. Nobody else is asked: a profile per anonymous page view would fill the customer
table with bots.

The panel frames the survey page itself (compact mode, `/p/widget/s/<token>/`), so every question type, the
conditions, partial answers, the errors and the accessibility work of the survey page hold in the widget too.
Those framed pages allow framing only by the allowed websites (CSP frame-ancestors) and need no CSRF token: the
signed token in their URL is the only credential and no cookie is read, and browsers do not send this site's
cookies to a frame on another site anyway (SameSite), so a CSRF check could only fail there.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cxloop.channels.webchat import services as chat_services
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.customers.types import IdentityInput
from cxloop.feedback.errors import SurveyWidgetNotAllowedError
from cxloop.feedback.links import invitation_token
from cxloop.feedback.models import Invitation
from cxloop.feedback.queries import surveys as survey_queries
from cxloop.feedback.services import invitations as invitation_services
from cxloop.feedback.services.surveys import localized_definition
from cxloop.portal import cross_site, surveys

SCRIPT = Path(__file__).with_name("static") / "portal" / "survey-widget.js"
KINDS = ("email", "external", "chat")
MAX_BODY_BYTES = 8 * 1024
VALUE_MAX = 254
SOURCE = "survey_widget"
DEFAULT_NETWORK = "website"  # the system an external id belongs to, unless data-network names another
NETWORK = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")

View = Callable[..., HttpResponseBase]


class WidgetOffError(NotFoundError):
    code = "survey_widget_off"


class SignatureError(PermissionDeniedError):
    code = "invalid_signature"


# --- who may call: origins, rate ----------------------------------------------------------------------------------


def allowed_origins(request: HttpRequest) -> set[str]:
    """The websites that may embed the widget ("*": any), and this instance itself."""
    return cross_site.allowed_origins(
        request, settings.CXLOOP_SURVEY_WIDGET_ORIGINS or settings.CXLOOP_CHAT_ALLOWED_ORIGINS
    )


_cors = cross_site.cross_site_post(
    allowed_origins, "This website may not show cxloop surveys (CXLOOP_SURVEY_WIDGET_ORIGINS)."
)


# --- the request: who the visitor is ------------------------------------------------------------------------------


def _body(request: HttpRequest) -> dict[str, Any]:
    data = cross_site.json_object(request, MAX_BODY_BYTES)
    errors: dict[str, str] = {}
    for name in ("survey", "customer", "signature"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = "must be a non-empty string"
        elif len(value) > VALUE_MAX:
            errors[name] = f"at most {VALUE_MAX} characters"
    if data.get("kind", "email") not in KINDS:
        errors["kind"] = f"must be one of {', '.join(KINDS)}"
    if not isinstance(data.get("page_url", ""), str):
        errors["page_url"] = "must be a string"
    data["network"] = data.get("network") or DEFAULT_NETWORK
    if not isinstance(data["network"], str) or not NETWORK.match(data["network"]):
        errors["network"] = "use lower-case letters, digits, '.', '_' or '-' (at most 50)"
    if errors:
        raise ValidationError("The widget's request is not valid.", fields=errors)
    return data


def signed_text(kind: str, value: str, network: str = DEFAULT_NETWORK) -> str:
    """What the website signs: "email:<email>" or "external:<network>:<id>". The kind and the network are signed
    too, so a signed id can never be presented as somebody's email or as an id in another system."""
    return f"external:{network}:{value}" if kind == "external" else f"{kind}:{value}"


def sign(kind: str, value: str, secret: str | None = None, *, network: str = DEFAULT_NETWORK) -> str:
    """What the website's backend computes: the hex HMAC-SHA256 of signed_text() with the widget's secret."""
    key = (secret if secret is not None else str(settings.CXLOOP_SURVEY_WIDGET_SECRET)).encode()
    return hmac.new(key, signed_text(kind, value, network).encode(), hashlib.sha256).hexdigest()


def _check_signature(kind: str, value: str, signature: str, network: str) -> None:
    if kind != "chat" and not hmac.compare_digest(sign(kind, value, network=network), signature.strip().lower()):
        shape = signed_text(kind, "<value>", network)
        raise SignatureError(
            f'The signature does not match data-customer: sign "{shape}" with HMAC-SHA256 and the '
            "secret CXLOOP_SURVEY_WIDGET_SECRET, in hex (docs/feedback.md, Web widget)."
        )


def _customer(actor: Actor, kind: str, value: str, signature: str, network: str) -> Customer | None:
    """The customer the website vouched for (found or created by identity resolution), the chat's customer for
    a chat token, or None: a chat whose visitor has not written yet has no customer."""
    if kind == "chat":
        try:
            session = chat_services.authenticate(value, token=signature)
        except (NotFoundError, PermissionDeniedError):
            raise SignatureError("The chat token does not belong to this chat.") from None
        return session.customer
    identity = IdentityInput(kind=kind, value=value, network=network if kind == "external" else None, source=SOURCE)
    return customer_services.resolve_customer(actor, [identity], source=SOURCE).customer


def _shown(request: HttpRequest, invitation: Invitation) -> dict[str, Any]:
    definition = localized_definition(invitation.survey, invitation.locale)
    path = reverse("portal:survey_widget_page", args=[invitation_token(invitation.public_id)])
    return {
        "invitation": invitation.public_id,
        "url": request.build_absolute_uri(path),
        "title": str(definition.get("title") or "A few questions for you"),
        "locale": invitation.locale,
        "expires_at": invitation.expires_at.isoformat(),
    }


@_cors
def invitation(request: HttpRequest) -> HttpResponse:
    """POST {survey, customer, kind, signature, page_url}: 200 with the survey to show, 204 when there is nothing
    to ask this customer now (fatigue, already answered), 403 for a bad signature, 404 for a survey the widget
    may not show."""
    cross_site.rate_limit(request, "survey-widget", int(settings.CXLOOP_SURVEY_WIDGET_PER_MINUTE))
    if not settings.CXLOOP_SURVEY_WIDGET_SECRET:
        raise WidgetOffError("The survey widget is off here (CXLOOP_SURVEY_WIDGET_SECRET is not set).")
    data = _body(request)
    actor = invitation_services.widget_actor(cross_site.client_address(request) or None)
    kind, value, network = str(data.get("kind", "email")), data["customer"].strip(), str(data["network"])
    _check_signature(kind, value, data["signature"], network)  # before any read or write
    try:
        survey = survey_queries.get_survey(actor, data["survey"].strip())
    except NotFoundError:
        raise SurveyWidgetNotAllowedError(f"No survey {data['survey']!r}.") from None
    invitation_services.check_widget_survey(survey)
    customer = _customer(actor, kind, value, data["signature"], network)
    if customer is None:
        return HttpResponse(status=204)
    shown = invitation_services.invite_in_widget(actor, survey, customer, page_url=str(data.get("page_url", "")))
    if shown is None:
        return HttpResponse(status=204)
    return JsonResponse(_shown(request, shown))


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


# --- the framed survey --------------------------------------------------------------------------------------------


def frame_ancestors(request: HttpRequest) -> str:
    allowed = allowed_origins(request)
    if "*" in allowed:
        return "frame-ancestors *"
    return "frame-ancestors 'self' " + " ".join(sorted(allowed))


def _framable(view: View) -> View:
    @csrf_exempt
    @xframe_options_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = frame_ancestors(request)
        return response

    return wrapper


@_framable
@never_cache
@require_http_methods(["GET", "POST"])
def embedded_survey(request: HttpRequest, token: str) -> HttpResponse:
    return surveys.answer_survey(request, token, embed=True)


@_framable
@never_cache
@require_POST
def embedded_partial(request: HttpRequest, token: str) -> HttpResponse:
    return surveys.keep_partial_answers(request, token)


@_framable
@never_cache
@require_GET
def embedded_thanks(request: HttpRequest, token: str) -> HttpResponse:
    return surveys.show_thanks(request, token, embed=True)
