"""The survey page's "Web widget" card: allow the survey in the web widget (feedback.manage) and copy the snippet.

The snippet is the one script tag a website puts on pages where its customer is logged in; the signature in it
is computed by the website's backend for each customer (the recipe is in docs/feedback.md, Web widget), so the
card shows it with placeholders and never shows the secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.feedback.models import Survey, SurveyStatus
from cxloop.feedback.queries import surveys as survey_queries
from cxloop.feedback.services import surveys as survey_services
from cxloop.web.actor import web_actor
from cxloop.web.responses import staff_view


@dataclass(frozen=True)
class WidgetCard:
    enabled: bool
    secret_set: bool
    survey_active: bool
    origins: tuple[str, ...]
    snippet: str


def widget_card(request: HttpRequest, survey: Survey) -> WidgetCard:
    script = request.build_absolute_uri(reverse("portal:survey_widget_script"))
    snippet = (
        f'<script src="{script}" data-survey="{survey.key}"\n'
        '        data-customer="CUSTOMER_EMAIL" data-kind="email"\n'
        '        data-signature="HEX_HMAC_SHA256_OF_email:CUSTOMER_EMAIL" async></script>'
    )
    origins = settings.CXLOOP_SURVEY_WIDGET_ORIGINS or settings.CXLOOP_CHAT_ALLOWED_ORIGINS
    return WidgetCard(
        enabled=survey.widget_enabled,
        secret_set=bool(settings.CXLOOP_SURVEY_WIDGET_SECRET),
        survey_active=survey.status == SurveyStatus.ACTIVE,
        origins=tuple(origins),
        snippet=snippet,
    )


@staff_view
@require_POST
def survey_widget(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    survey = survey_queries.get_survey(actor, key)
    actor.require(Perm.FEEDBACK_MANAGE)
    action = request.POST.get("action", "")
    if action not in ("allow", "stop"):
        raise ValidationError("Choose allow or stop.", fields={"action": "must be allow or stop"})
    survey_services.set_widget(actor, survey, enabled=action == "allow")
    if action == "allow":
        messages.success(request, "Websites may now show this survey in the web widget.")
    else:
        messages.success(request, "The web widget no longer shows this survey.")
    return redirect(reverse("web:feedback-survey", args=[survey.key]) + "#widget")
