"""Feedback → Surveys: the list (with sent, responses and response rate), the survey page (settings, the
question editor with a preview, translations, triggers, invitations, "Send to a customer"), and the customer
page's "Surveys" panel with its "Send a survey" form.

Reading needs feedback.view, changing a survey or its triggers feedback.manage, inviting feedback.send. Forms
only parse; the services own the rules and their per-path errors come back beside the fields (422), with what
was typed kept.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, NotFoundError, PermissionDeniedError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.feedback.definitions import SCALES, parse_definition
from cxloop.feedback.models import Survey, SurveyKind, SurveyPurpose, SurveyStatus
from cxloop.feedback.queries import invitations as invitation_queries
from cxloop.feedback.queries import surveys as survey_queries
from cxloop.feedback.services import invitations as invitation_services
from cxloop.feedback.services import surveys as survey_services
from cxloop.feedback.services import triggers as trigger_services
from cxloop.web.actor import web_actor
from cxloop.web.forms import apply_errors, attempt
from cxloop.web.responses import staff_view
from cxloop.web.views.feedback_survey_widget import widget_card

SURVEY_PAGE = 25
INVITATION_PAGE = 25
_CHANNELS = [(c, c.title() if c != "sms" else "SMS") for c in invitation_services.CHANNELS]
_TRIGGER_CHANNELS = [("", "The case's channel, else email"), *_CHANNELS]


# --- forms --------------------------------------------------------------------------------------------------------


class SurveyFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Name or key")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *SurveyStatus.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *SurveyKind.choices])


class SurveyCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    key = forms.CharField(max_length=60, help_text="Used in links, triggers and reports: a-z, 0-9, - and _")
    kind = forms.ChoiceField(choices=SurveyKind.choices)
    purpose = forms.ChoiceField(choices=SurveyPurpose.choices)


class SettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    purpose = forms.ChoiceField(choices=SurveyPurpose.choices)
    default_locale = forms.CharField(max_length=20, label="Language of the questions")
    fatigue_days = forms.IntegerField(
        required=False, min_value=0, label="Ask a customer at most once per (days)", help_text="Empty or 0: no limit"
    )
    link_valid_days = forms.IntegerField(min_value=1, label="Links work for (days)")


class StandardDefinitionForm(forms.Form):
    """The texts of an NPS, CSAT or CES survey: its scale question and the open follow-up."""

    title = forms.CharField(required=False, max_length=200, help_text="Also the email's subject")
    intro = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    score_text = forms.CharField(max_length=1000, label="Score question")
    low_label = forms.CharField(required=False, max_length=100, label="Label of the lowest score")
    high_label = forms.CharField(required=False, max_length=100, label="Label of the highest score")
    comment_text = forms.CharField(
        required=False, max_length=1000, label="Open question", help_text="Empty: no open question"
    )
    thank_you = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    @staticmethod
    def initial_of(definition: dict[str, Any]) -> dict[str, Any]:
        questions = {q.get("id"): q for q in definition.get("questions", []) if isinstance(q, dict)}
        score, comment = questions.get("score", {}), questions.get("comment", {})
        return {
            "title": definition.get("title", ""),
            "intro": definition.get("intro", ""),
            "score_text": score.get("text", ""),
            "low_label": score.get("low_label", ""),
            "high_label": score.get("high_label", ""),
            "comment_text": comment.get("text", ""),
            "thank_you": definition.get("thank_you", ""),
        }

    def definition(self, kind: str, current: dict[str, Any]) -> dict[str, Any]:
        """The current document with these texts; other questions (added through the API) stay as they are."""
        data = self.cleaned_data
        questions = [dict(q) for q in current.get("questions", []) if isinstance(q, dict)]
        by_id = {q.get("id"): q for q in questions}
        score = by_id.get("score") or {"id": "score", "type": kind, "required": True}
        score.update(text=data["score_text"], low_label=data["low_label"], high_label=data["high_label"])
        rest = [q for q in questions if q.get("id") not in ("score", "comment")]
        comment = [{**by_id.get("comment", {}), "id": "comment", "type": "text", "text": data["comment_text"]}]
        return {
            "title": data["title"],
            "intro": data["intro"],
            "thank_you": data["thank_you"],
            "questions": [score, *(comment if data["comment_text"].strip() else []), *rest],
        }


class JsonDefinitionForm(forms.Form):
    document = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "mono"}),
        label="Definition (JSON)",
        help_text="Questions of type nps, csat, ces, rating, single, multiple or text; see docs/feedback.md.",
    )

    def parsed(self) -> Any:
        try:
            return json.loads(self.cleaned_data["document"])
        except json.JSONDecodeError as exc:
            self.add_error("document", f"Not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
            return None


class TranslationForm(forms.Form):
    locale = forms.CharField(max_length=20, help_text="e.g. de or pt-BR")
    texts = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "mono"}),
        label="Texts (JSON)",
        help_text="Empty removes the language.",
    )


class TriggerForm(forms.Form):
    event_name = forms.CharField(
        max_length=100, label="Event", help_text="case.resolved, chat.ended, purchase.completed…"
    )
    delay_minutes = forms.IntegerField(min_value=0, initial=0, label="Delay (minutes)")
    channel = forms.ChoiceField(required=False, choices=_TRIGGER_CHANNELS)
    goals = forms.CharField(required=False, max_length=500, help_text="Case goals (keys, comma-separated)")
    categories = forms.CharField(required=False, max_length=500, help_text="Case categories (keys)")
    source_channels = forms.CharField(required=False, max_length=200, help_text="Channels the case came from")

    def conditions(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in ("goals", "categories", "source_channels"):
            values = [v.strip() for v in self.cleaned_data[name].split(",") if v.strip()]
            if values:
                found[name] = values
        return found


class SendForm(forms.Form):
    survey = forms.ChoiceField(choices=[], required=False)
    customer = forms.CharField(required=False, max_length=40, label="Customer id", help_text="cus_…")
    channel = forms.ChoiceField(choices=_CHANNELS, initial="email")
    case = forms.CharField(required=False, max_length=40, label="About case", help_text="Optional: its id")

    def __init__(
        self, *args: Any, surveys: list[Survey] | None = None, with_customer: bool = True, **kwargs: Any
    ) -> None:
        kwargs.setdefault("prefix", "send")
        super().__init__(*args, **kwargs)
        if not with_customer:
            del self.fields["customer"]
        if surveys is None:
            del self.fields["survey"]
        else:
            self.fields["survey"].choices = [(s.key, s.name) for s in surveys]  # type: ignore[attr-defined]


# --- helpers ------------------------------------------------------------------------------------------------------


def _survey_url(survey: Survey, anchor: str = "") -> str:
    return reverse("web:feedback-survey", args=[survey.key]) + (f"#{anchor}" if anchor else "")


def _definition_form(survey: Survey, data: Any = None) -> forms.Form:
    if survey.kind in SCALES:
        return StandardDefinitionForm(data, initial=StandardDefinitionForm.initial_of(survey.definition))
    return JsonDefinitionForm(data, initial={"document": json.dumps(survey.definition, indent=2, ensure_ascii=False)})


def _preview(survey: Survey) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """What the customer will see (in the survey's own language), or the problems that stop it."""
    try:
        parsed = parse_definition(survey.definition, kind=survey.kind)
    except ValidationError as exc:
        return None, exc.fields
    questions = [
        {**asdict(q), "is_scale": q.is_scale, "scale_values": range(q.min, q.max + 1) if q.is_scale else ()}
        for q in parsed.questions
    ]
    return {"title": parsed.title, "intro": parsed.intro, "thank_you": parsed.thank_you, "questions": questions}, {}


def _translation_skeleton(survey: Survey) -> str:
    questions = {}
    for q in survey.definition.get("questions", []):
        if not isinstance(q, dict):
            continue
        texts = {k: "" for k in ("text", "low_label", "high_label") if q.get(k)}
        if q.get("choices"):
            texts["choices"] = {(c if isinstance(c, str) else c.get("value")): "" for c in q["choices"]}  # type: ignore[assignment]
        questions[q.get("id")] = texts
    return json.dumps({"title": "", "intro": "", "thank_you": "", "questions": questions}, indent=2)


def _render_survey(
    request: HttpRequest, actor: Actor, survey: Survey, status: int = 200, **forms_: Any
) -> HttpResponse:
    can_manage = actor.can(Perm.FEEDBACK_MANAGE) and survey.status != SurveyStatus.ARCHIVED
    invitations = invitation_queries.list_invitations(
        actor,
        invitation_queries.InvitationFilters(survey=survey.key, status=request.GET.get("status", "")),
        cursor=request.GET.get("cursor") or None,
        limit=INVITATION_PAGE,
    )
    definition, problems = _preview(survey)
    context = {
        "survey": survey,
        "feedback_tab": "surveys",
        "stats": survey_queries.survey_stats(actor, [survey.pk])[survey.pk],
        "can_manage": can_manage,
        "can_send": actor.can(Perm.FEEDBACK_SEND) and survey.status == SurveyStatus.ACTIVE,
        "is_standard": survey.kind in SCALES,
        "definition": definition,
        "definition_problems": problems,
        "settings_fatigue_days": settings.CXLOOP_SURVEY_FATIGUE_DAYS,
        "definition_json": json.dumps(survey.definition, indent=2, ensure_ascii=False),
        "triggers": survey_queries.triggers_of(actor, survey),
        "invitations": invitations,
        "next_url": "?" + urlencode({"cursor": invitations.next_cursor}) if invitations.next_cursor else "",
        "settings_form": forms_.get("settings_form")
        or SettingsForm(
            initial={
                "name": survey.name,
                "purpose": survey.purpose,
                "default_locale": survey.default_locale,
                "fatigue_days": survey.fatigue_days,
                "link_valid_days": survey.link_valid_days,
            }
        ),
        "definition_form": forms_.get("definition_form") or _definition_form(survey),
        "translation_form": forms_.get("translation_form")
        or TranslationForm(initial={"texts": _translation_skeleton(survey)}),
        "translations": sorted((survey.translations or {}).items()),
        "trigger_form": forms_.get("trigger_form") or TriggerForm(),
        "send_form": forms_.get("send_form") or SendForm(),
        "widget": widget_card(request, survey),
    }
    return render(request, "web/feedback/surveys/detail.html", context, status=status)


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if (
        target
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
        and target.startswith("/")
    ):
        return target
    return default


# --- the list -----------------------------------------------------------------------------------------------------


def _render_list(request: HttpRequest, actor: Actor, create_form: SurveyCreateForm, status: int = 200) -> HttpResponse:
    filters = SurveyFilterForm(request.GET or None)
    wanted = filters.cleaned_data if filters.is_valid() else {"q": "", "status": "", "kind": ""}
    page = None
    try:
        page = survey_queries.list_surveys(
            actor,
            survey_queries.SurveyFilters(status=wanted["status"], kind=wanted["kind"], text=wanted["q"]),
            cursor=request.GET.get("cursor") or None,
            limit=SURVEY_PAGE,
        )
    except ValidationError as exc:
        apply_errors(filters, exc, {"q": "q"})
        status = 422
    stats = survey_queries.survey_stats(actor, [s.pk for s in page.items]) if page else {}
    active = {k: v for k, v in wanted.items() if v}
    context = {
        "feedback_tab": "surveys",
        "filters": filters,
        "filtered": bool(active),
        "rows": [(s, stats[s.pk]) for s in page.items] if page else [],
        "page": page,
        "next_url": "?" + urlencode({**active, "cursor": page.next_cursor}) if page and page.next_cursor else "",
        "create_form": create_form,
        "can_manage": actor.can(Perm.FEEDBACK_MANAGE),
    }
    return render(request, "web/feedback/surveys/list.html", context, status=status)


@staff_view
@require_GET
def survey_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.FEEDBACK_VIEW)
    return _render_list(request, actor, SurveyCreateForm())


@staff_view
@require_POST
def survey_new(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.FEEDBACK_MANAGE)
    form = SurveyCreateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        survey = attempt(
            form,
            lambda: survey_services.create_survey(
                actor,
                survey_services.SurveyInput(
                    key=data["key"], name=data["name"], kind=data["kind"], purpose=data["purpose"]
                ),
            ),
        )
        if survey is not None:
            messages.success(request, f"Created {survey.name}: check its questions, then activate it.")
            return redirect(_survey_url(survey))
    return _render_list(request, actor, form, status=422)


# --- the survey page ----------------------------------------------------------------------------------------------


@staff_view
@require_GET
def survey_detail(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    return _render_survey(request, actor, survey_queries.get_survey(actor, key))


@staff_view
@require_POST
def survey_settings(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    survey = survey_queries.get_survey(actor, key)
    actor.require(Perm.FEEDBACK_MANAGE)
    form = SettingsForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        changes = survey_services.SurveyChanges(
            name=data["name"],
            purpose=data["purpose"],
            default_locale=data["default_locale"],
            fatigue_days=data["fatigue_days"] or 0,
            link_valid_days=data["link_valid_days"],
        )
        if attempt(form, lambda: survey_services.update_survey(actor, survey, changes)) is not None:
            messages.success(request, "Saved the settings.")
            return redirect(_survey_url(survey, "settings"))
    return _render_survey(request, actor, survey, status=422, settings_form=form)


@staff_view
@require_POST
def survey_definition(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    survey = survey_queries.get_survey(actor, key)
    actor.require(Perm.FEEDBACK_MANAGE)
    form = _definition_form(survey, request.POST)
    document: Any = None
    if form.is_valid():
        if isinstance(form, StandardDefinitionForm):
            document = form.definition(survey.kind, survey.definition)
        elif isinstance(form, JsonDefinitionForm):
            document = form.parsed()
    if document is not None:
        changes = survey_services.SurveyChanges(definition=document)
        try:
            updated = survey_services.update_survey(actor, survey, changes)
        except CxloopError as exc:
            if exc.status in (403, 404):
                raise
            form.add_error(None, exc.message)
            for path, reason in exc.fields.items():
                form.add_error(None, f"{path}: {reason}")
        else:
            messages.success(request, f"Saved the questions (version {updated.version}).")
            return redirect(_survey_url(survey, "questions"))
    return _render_survey(request, actor, survey, status=422, definition_form=form)


@staff_view
@require_POST
def survey_translation(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    survey = survey_queries.get_survey(actor, key)
    actor.require(Perm.FEEDBACK_MANAGE)
    form = TranslationForm(request.POST)
    if form.is_valid():
        raw = form.cleaned_data["texts"].strip()
        texts: Any = None
        try:
            texts = json.loads(raw) if raw else None
        except json.JSONDecodeError as exc:
            form.add_error("texts", f"Not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
        else:
            locale = form.cleaned_data["locale"].strip()
            done = attempt(
                form, lambda: survey_services.set_translation(actor, survey, locale, texts), {"translation": "texts"}
            )
            if done is not None:
                messages.success(request, f"Saved the {locale} texts." if texts else f"Removed {locale}.")
                return redirect(_survey_url(survey, "translations"))
    return _render_survey(request, actor, survey, status=422, translation_form=form)


@staff_view
@require_POST
def survey_status(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    survey = survey_queries.get_survey(actor, key)
    action = request.POST.get("action", "")
    if action == "activate":
        survey_services.activate_survey(actor, survey)
        messages.success(request, f"{survey.name} is active: it can be sent and its triggers run.")
    elif action == "archive":
        survey_services.archive_survey(actor, survey)
        messages.success(request, f"Archived {survey.name}: nothing new is sent; answers stay in the scores.")
    else:
        raise ValidationError("Unknown action.", fields={"action": "activate or archive"})
    return redirect(_survey_url(survey))


@staff_view
@require_POST
def survey_trigger_add(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    survey = survey_queries.get_survey(actor, key)
    actor.require(Perm.FEEDBACK_MANAGE)
    form = TriggerForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        trigger_input = trigger_services.TriggerInput(
            event_name=data["event_name"].strip(),
            delay_minutes=data["delay_minutes"],
            channel=data["channel"],
            conditions=form.conditions(),
        )
        aliases = {f"conditions.{n}": n for n in ("goals", "categories", "source_channels")}
        if attempt(form, lambda: trigger_services.create_trigger(actor, survey, trigger_input), aliases) is not None:
            messages.success(request, f"Added the trigger on {trigger_input.event_name}.")
            return redirect(_survey_url(survey, "triggers"))
    return _render_survey(request, actor, survey, status=422, trigger_form=form)


@staff_view
@require_POST
def survey_trigger(request: HttpRequest, key: str, trigger_id: str) -> HttpResponse:
    actor = web_actor(request)
    survey = survey_queries.get_survey(actor, key)
    trigger = survey_queries.get_trigger(actor, survey, trigger_id)
    action = request.POST.get("action", "")
    if action == "delete":
        trigger_services.delete_trigger(actor, trigger)
        messages.success(request, f"Removed the trigger on {trigger.event_name}.")
    elif action in ("pause", "resume"):
        changes = trigger_services.TriggerChanges(is_active=action == "resume")
        trigger_services.update_trigger(actor, trigger, changes)
        messages.success(
            request, f"{'Resumed' if action == 'resume' else 'Paused'} the trigger on {trigger.event_name}."
        )
    else:
        raise ValidationError("Unknown action.", fields={"action": "pause, resume or delete"})
    return redirect(_survey_url(survey, "triggers"))


# --- sending ------------------------------------------------------------------------------------------------------


def _send(actor: Actor, form: SendForm, survey: Survey | None) -> Any:
    data = form.cleaned_data
    if survey is None:
        survey = survey_queries.get_survey(actor, data["survey"])
    customer_id = data.get("customer", "").strip()
    if not customer_id:
        raise ValidationError("Which customer?", fields={"customer": "give the customer's id"})
    customer = customer_queries.get_customer(actor, customer_id)
    return invitation_services.invite(
        actor, survey, customer, channel=data["channel"], case_ref=data.get("case", "").strip()
    )


def _sent_message(request: HttpRequest, invitation: Any) -> None:
    if invitation.status == "skipped":
        messages.warning(request, f"Not sent to {invitation.customer.display_name}: {invitation.skip_reason}")
    else:
        messages.success(
            request, f"Sent {invitation.survey.name} to {invitation.customer.display_name} by {invitation.channel}."
        )


@staff_view
@require_POST
def survey_send(request: HttpRequest, key: str) -> HttpResponse:
    """ "Send to a customer" on the survey page."""
    actor = web_actor(request)
    survey = survey_queries.get_survey(actor, key)
    actor.require(Perm.FEEDBACK_SEND)
    form = SendForm(request.POST)
    if form.is_valid():
        invitation = attempt(form, lambda: _send(actor, form, survey), {"case_ref": "case", "to": "channel"})
        if invitation is not None:
            _sent_message(request, invitation)
            return redirect(_survey_url(survey, "invitations"))
    return _render_survey(request, actor, survey, status=422, send_form=form)


@staff_view
@require_POST
def survey_send_to_customer(request: HttpRequest, public_id: str) -> HttpResponse:
    """The customer page's "Send a survey": back to the customer page, with the outcome or the refusal."""
    actor = web_actor(request)
    actor.require(Perm.FEEDBACK_SEND)
    customer = customer_queries.get_customer(actor, public_id)
    form = SendForm(request.POST, surveys=survey_queries.active_surveys(actor), with_customer=False)
    back = _back(request, reverse("web:customer", args=[customer.public_id]) + "#panel-surveys")
    if not form.is_valid():
        problems = "; ".join(f"{name}: {e}" for name, errors in form.errors.items() for e in errors)
        messages.error(request, f"Not sent: {problems}")
        return redirect(back)
    form.cleaned_data["customer"] = customer.public_id
    try:
        invitation = _send(actor, form, None)
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:  # fatigue, a draft survey, no address on the channel: said on the customer page
        details = [r for f, r in exc.fields.items() if r not in exc.message and f != "customer"]
        messages.error(request, "Not sent: " + " ".join([exc.message, *details]))
        return redirect(back)
    _sent_message(request, invitation)
    return redirect(back)


def customer_panel_context(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    """The customer page's "Surveys" panel; None (no panel) for those who may not read feedback."""
    if not actor.can(Perm.FEEDBACK_VIEW):
        return None
    can_send = actor.can(Perm.FEEDBACK_SEND) and customer.is_active
    surveys = survey_queries.active_surveys(actor) if can_send else []
    last = invitation_services.last_invited_at(customer) if surveys else None  # shown only beside the send form
    return {
        "invitations": invitation_queries.customer_invitations(actor, customer.pk, limit=5),
        "send_form": SendForm(surveys=surveys, with_customer=False) if surveys else None,
        "last_invited_at": last,
        "back": reverse("web:customer", args=[customer.public_id]) + "#panel-surveys",
    }


def case_panel_context(actor: Actor, case: Any) -> dict[str, Any] | None:
    """The case page's "Survey" card: what was asked about this case and, for those who may, "Send a survey" with
    the case filled in (the invitation then carries the case's owner, team and goal). None: no card."""
    if not actor.can(Perm.FEEDBACK_VIEW):
        return None
    can_send = actor.can(Perm.FEEDBACK_SEND) and case.customer.is_active
    surveys = survey_queries.active_surveys(actor) if can_send else []
    invitations = invitation_queries.case_invitations(actor, case.public_id)
    if not surveys and not invitations:
        return None
    return {
        "invitations": invitations,
        "send_form": SendForm(surveys=surveys, with_customer=False, initial={"case": case.public_id})
        if surveys
        else None,
        "customer": case.customer,
        "back": reverse("web:case", args=[case.public_id]) + "#case-survey",
    }
