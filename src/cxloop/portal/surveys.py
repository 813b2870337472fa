"""The customer's survey page: a signed one-time link (no login) opens the survey in the invitation's language.

It works without JavaScript (every question shown; the server ignores answers to questions whose condition does
not hold) and, with it (static portal/survey.js), hides those questions as the customer answers and keeps the
answers so far through the partial-save URL, so a customer who leaves and comes back finds them. Refused answers
come back next to their question with the typed text kept. Nothing here is cached: each link is one person's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, ValidationError
from cxloop.feedback.definitions import Question
from cxloop.feedback.errors import (
    AlreadyAnsweredError,
    SurveyLinkExpiredError,
    SurveyLinkInvalidError,
    SurveyNotActiveError,
)
from cxloop.feedback.queries import responses as response_queries
from cxloop.feedback.queries.responses import OpenedSurvey
from cxloop.feedback.services import responses as response_services

_PROBLEMS: dict[type[CxloopError], tuple[str, str]] = {
    SurveyLinkInvalidError: (
        "This link does not work",
        "The link may be incomplete. Open it again from the message we sent you.",
    ),
    SurveyLinkExpiredError: (
        "This survey has expired",
        "This survey link is no longer open for answers. Thank you for wanting to tell us; "
        "you can reply to any message from us at any time.",
    ),
    AlreadyAnsweredError: (
        "We already have your answer — thank you",
        "Each survey link takes one answer, and we have yours.",
    ),
    SurveyNotActiveError: ("This survey is closed", "We are no longer collecting answers to this survey. Thank you."),
}
_IGNORED_FIELDS = frozenset({"csrfmiddlewaretoken"})


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class Field:
    """One question as the template draws it."""

    question: Question
    options: tuple[Option, ...]
    text: str  # the typed text of a text question
    error: str
    show_if: str  # the condition as JSON for survey.js ("" when always shown)

    @property
    def id(self) -> str:
        return self.question.id

    @property
    def kind(self) -> str:
        return "scale" if self.question.is_scale else self.question.type

    @property
    def has_hint(self) -> bool:
        return self.question.is_scale and bool(self.question.low_label or self.question.high_label)

    @property
    def described_by(self) -> str:
        """The hint and the error of a group of choices, read out with its legend."""
        ids = [f"h-{self.id}"] if self.has_hint else []
        return " ".join([*ids, f"e-{self.id}"] if self.error else ids)


def _problem(request: HttpRequest, exc: CxloopError) -> HttpResponse:
    title, detail = next(
        (texts for kind, texts in _PROBLEMS.items() if isinstance(exc, kind)), _PROBLEMS[SurveyLinkInvalidError]
    )
    return render(request, "portal/problem.html", {"title": title, "detail": detail}, status=exc.status)


def _condition_json(question: Question) -> str:
    condition = question.show_if
    if condition is None:
        return ""
    return json.dumps(
        {
            "question": condition.question,
            "in": list(condition.values),
            "at_most": condition.at_most,
            "at_least": condition.at_least,
            "answered": condition.answered,
        }
    )


def _given(answers: dict[str, Any], question_id: str) -> list[str]:
    value = answers.get(question_id)
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _options(question: Question, given: list[str]) -> tuple[Option, ...]:
    if question.is_scale:
        return tuple(Option(str(n), str(n), str(n) in given) for n in range(question.min, question.max + 1))
    return tuple(Option(c.value, c.label, c.value in given) for c in question.choices)


def _fields(shown: OpenedSurvey, answers: dict[str, Any], errors: dict[str, str]) -> list[Field]:
    fields = []
    for question in shown.definition.questions:
        given = _given(answers, question.id)
        fields.append(
            Field(
                question=question,
                options=_options(question, given),
                text=given[0] if question.type == "text" and given else "",
                error=errors.get(f"answers.{question.id}", ""),
                show_if=_condition_json(question),
            )
        )
    return fields


def _answers_from(form: QueryDict) -> dict[str, Any]:
    """The posted answers: a field sent several times (the boxes of a multiple-choice question) becomes a list."""
    return {
        key: (values if len(values) > 1 else values[0]) for key, values in form.lists() if key not in _IGNORED_FIELDS
    }


def _render(
    request: HttpRequest,
    token: str,
    shown: OpenedSurvey,
    answers: dict[str, Any],
    errors: dict[str, str],
    *,
    status: int = 200,
    embed: bool = False,
) -> HttpResponse:
    fields = _fields(shown, answers, errors)
    context = {
        "definition": shown.definition,
        "fields": fields,
        "errors": [f for f in fields if f.error],
        "other_errors": [v for k, v in errors.items() if k.removeprefix("answers.") not in {f.id for f in fields}],
        "score_error": shown.score_error,
        "locale": shown.locale,
        "partial_url": reverse("portal:survey_widget_partial" if embed else "portal:survey_partial", args=[token]),
        "embed": embed,
    }
    with translation.override(shown.locale):
        return render(request, "portal/survey.html", context, status=status)


def _actor(request: HttpRequest) -> Actor:
    return response_services.respondent_actor(request.META.get("REMOTE_ADDR"))


@never_cache
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    return answer_survey(request, token)


def answer_survey(request: HttpRequest, token: str, *, embed: bool = False) -> HttpResponse:
    """The survey page's work; `embed` is the compact page that the web widget frames (portal.survey_widget),
    which posts back and thanks under its own URLs."""
    actor = _actor(request)
    if request.method == "POST":
        answers = _answers_from(request.POST)
        try:
            response_services.submit_response(actor, token, answers)
        except ValidationError as exc:
            try:
                shown = response_queries.survey_for_token(actor, token)
            except CxloopError as gone:
                return _problem(request, gone)
            return _render(request, token, shown, answers, exc.fields, status=422, embed=embed)
        except CxloopError as exc:
            return _problem(request, exc)
        return HttpResponseRedirect(
            reverse("portal:survey_widget_thanks" if embed else "portal:survey_thanks", args=[token])
        )
    try:
        shown = response_services.open_invitation(actor, token, score=request.GET.get("score"))
    except CxloopError as exc:
        return _problem(request, exc)
    return _render(request, token, shown, shown.answers, {}, embed=embed)


@never_cache
@require_POST
def save_partial(request: HttpRequest, token: str) -> HttpResponse:
    """survey.js keeps the answers so far here (form-encoded, with the page's CSRF token)."""
    return keep_partial_answers(request, token)


def keep_partial_answers(request: HttpRequest, token: str) -> HttpResponse:
    try:
        result = response_services.save_partial_answers(_actor(request), token, _answers_from(request.POST))
    except CxloopError as exc:
        return JsonResponse(
            {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}, status=exc.status
        )
    return JsonResponse({"saved": sorted(result.answers), "errors": result.errors})


@never_cache
@require_GET
def thanks_page(request: HttpRequest, token: str) -> HttpResponse:
    return show_thanks(request, token)


def show_thanks(request: HttpRequest, token: str, *, embed: bool = False) -> HttpResponse:
    try:
        thanks = response_queries.thanks_for_token(_actor(request), token)
    except CxloopError as exc:
        return _problem(request, exc)
    if thanks is None:
        return HttpResponseRedirect(reverse("portal:survey_widget_page" if embed else "portal:survey", args=[token]))
    context = {"thanks": thanks, "locale": thanks.locale, "embed": embed}
    with translation.override(thanks.locale):
        return render(request, "portal/survey_thanks.html", context)
