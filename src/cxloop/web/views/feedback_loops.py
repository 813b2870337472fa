"""The closed loop in the staff UI: the follow-ups list with its measures, one follow-up, the "Customer
contacted" and "Close the loop" forms (also on the follow-up case's page), and the follow-up rules.

Reading needs feedback.view; contacting and closing need cases.work; changing rules needs feedback.manage. The
queries and services check it, so these pages and the API follow one rule. A refused form comes back with what was
typed and the reason on its field.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cxloop.cases.models import Case, Priority
from cxloop.cases.queries import setup as setup_queries
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.feedback.models import Loop, LoopOutcome, LoopRule, LoopState, SurveyKind
from cxloop.feedback.queries import loops as loop_queries
from cxloop.feedback.services import loop_rules, loops
from cxloop.feedback.services.loop_rules import RuleInput
from cxloop.interactions import inbox as inbox_queries
from cxloop.textanalytics import EMOTIONS
from cxloop.web.actor import web_actor
from cxloop.web.forms import attempt
from cxloop.web.responses import staff_view

PAGE_SIZE = 25
PERIODS = ((7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "Last 12 months"))
_CHECKBOXES = forms.CheckboxSelectMultiple


# --- forms ---------------------------------------------------------------------------------------------------------
class LoopFilterForm(forms.Form):
    state = forms.ChoiceField(
        choices=[("active", "Open or contacted"), *LoopState.choices, ("", "Any state")], required=False
    )
    owner = forms.ChoiceField(choices=[], required=False)
    age = forms.ChoiceField(
        choices=[("", "Any age"), *((key, label) for key, label, _ in loop_queries.AGE_BUCKETS)], required=False
    )
    rule = forms.ChoiceField(choices=[], required=False)
    days = forms.TypedChoiceField(choices=PERIODS, coerce=int, initial=30, required=False, label="Measures over")
    within = forms.IntegerField(
        min_value=1, max_value=loop_queries.WITHIN_HOURS_MAX, initial=48, required=False, label="Closed within (hours)"
    )


class CloseForm(forms.Form):
    prefix = "close"

    outcome = forms.ChoiceField(choices=LoopOutcome.choices, widget=forms.RadioSelect, label="How did it end?")
    note = forms.CharField(
        max_length=loops.NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Note",
        help_text="What was done and what the customer said.",
    )


class RuleForm(forms.Form):
    name = forms.CharField(max_length=loop_rules.NAME_MAX)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    kinds = forms.MultipleChoiceField(choices=SurveyKind.choices, required=False, widget=_CHECKBOXES, label="Kinds")
    surveys = forms.MultipleChoiceField(choices=[], required=False, widget=_CHECKBOXES, help_text="None: any survey.")
    score_at_most = forms.IntegerField(
        min_value=0, max_value=loop_rules.SCORE_MAX, required=False, label="Score at most", help_text="e.g. 6 for NPS"
    )
    sentiment_below = forms.FloatField(
        min_value=-1, max_value=1, required=False, label="Sentiment below", help_text="-1 (angry) to 1 (happy)"
    )
    emotions = forms.MultipleChoiceField(
        choices=[(e, e.title()) for e in EMOTIONS], required=False, widget=_CHECKBOXES, label="Strongest emotion"
    )
    has_comment = forms.ChoiceField(
        choices=[("", "Either"), ("yes", "Has a comment"), ("no", "Has no comment")], required=False, label="Comment"
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.HIGH, label="Case priority")
    goal = forms.ChoiceField(choices=[], required=False, label="Case goal")
    category = forms.ChoiceField(choices=[], required=False, label="Case category")
    assign_to_agent = forms.BooleanField(
        required=False, initial=True, label="Give the follow-up to the agent who served the customer"
    )
    owner = forms.ChoiceField(choices=[], required=False, label="Otherwise, owner")
    team = forms.ChoiceField(choices=[], required=False, label="Otherwise, team", help_text="Neither: routing decides.")

    def conditions(self) -> dict[str, Any]:
        data = self.cleaned_data
        found: dict[str, Any] = {key: list(data[key]) for key in ("kinds", "surveys", "emotions") if data.get(key)}
        for key in ("score_at_most", "sentiment_below"):
            if data.get(key) is not None:
                found[key] = data[key]
        if data.get("has_comment"):
            found["has_comment"] = data["has_comment"] == "yes"
        return found

    @staticmethod
    def initial_of(rule: LoopRule) -> dict[str, Any]:
        conditions = rule.conditions or {}
        has_comment = conditions.get("has_comment")
        return {
            "name": rule.name,
            "is_active": rule.is_active,
            **{key: conditions.get(key, []) for key in ("kinds", "surveys", "emotions")},
            "score_at_most": conditions.get("score_at_most"),
            "sentiment_below": conditions.get("sentiment_below"),
            "has_comment": "" if has_comment is None else ("yes" if has_comment else "no"),
            "priority": rule.priority,
            "goal": rule.goal.key if rule.goal else "",
            "category": rule.category.key if rule.category else "",
            "assign_to_agent": rule.assign_to_agent,
            "owner": rule.owner.username if rule.owner else "",
            "team": str(rule.team_id or ""),
        }


_RULE_ALIASES = {f"conditions.{key}": key for key in loop_rules.CONDITION_KEYS}


# --- helpers -------------------------------------------------------------------------------------------------------
def _staff(actor: Actor) -> list[tuple[str, str]]:
    return [(u.username, u.display_name) for u in inbox_queries.assignable_users(actor)]


def _rule_form(actor: Actor, data: Any = None, initial: dict[str, Any] | None = None) -> RuleForm:
    form = RuleForm(data, initial=initial)
    fields: dict[str, Any] = form.fields
    fields["surveys"].choices = loop_queries.survey_choices(actor)
    fields["goal"].choices = [("", "Default"), *((g.key, g.name) for g in setup_queries.list_goals(actor))]
    fields["category"].choices = [("", "None"), *((c.key, c.name) for c in setup_queries.list_categories(actor))]
    fields["owner"].choices = [("", "Nobody"), *_staff(actor)]
    fields["team"].choices = [("", "No team"), *((str(t.pk), t.name) for t in inbox_queries.teams(actor))]
    return form


def _rule_input(actor: Actor, form: RuleForm) -> RuleInput:
    data = form.cleaned_data
    goal = next((g for g in setup_queries.list_goals(actor) if g.key == data["goal"]), None)
    category = next((c for c in setup_queries.list_categories(actor) if c.key == data["category"]), None)
    owner = inbox_queries.assignable_users(actor).filter(username=data["owner"]).first() if data["owner"] else None
    team = inbox_queries.teams(actor).filter(pk=data["team"]).first() if data["team"] else None
    return RuleInput(
        name=data["name"],
        conditions=form.conditions(),
        is_active=data["is_active"],
        priority=data["priority"],
        assign_to_agent=data["assign_to_agent"],
        goal=goal,
        category=category,
        owner=owner,
        team=team,
        clear_goal=goal is None,
        clear_category=category is None,
        clear_owner=owner is None,
        clear_team=team is None,
    )


def describe(conditions: dict[str, Any]) -> str:
    """A rule's conditions in one line: "kinds: nps · score_at_most: 6"."""
    parts = []
    for key in loop_rules.CONDITION_KEYS:
        if key in conditions:
            value = conditions[key]
            parts.append(f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    return " · ".join(parts)


def _back(request: HttpRequest, loop: Loop) -> HttpResponse:
    """Back where the form was: the follow-up case's page, or the follow-up's own page."""
    target = request.POST.get("next", "")
    if target.startswith(("/cases/", "/feedback/loops/")) and "//" not in target:
        return redirect(target)
    return redirect(reverse("web:feedback-loop", args=[loop.public_id]))


def _may_work(actor: Actor, loop: Loop) -> bool:
    return actor.can(Perm.CASES_WORK) and loop.state != LoopState.RESOLVED


def loop_context(actor: Actor, loop: Loop, close_form: CloseForm | None = None) -> dict[str, Any]:
    """The follow-up panel: the original answer, the loop's state and its forms."""
    response = loop.response
    return {
        "loop": loop,
        "answer": response,
        "can_work": _may_work(actor, loop),
        "close_form": close_form or CloseForm(),
        "hours_open": round(((loop.closed_at or clock.now()) - loop.opened_at).total_seconds() / 3600, 1),
    }


def case_panel_context(actor: Actor, case: Case) -> dict[str, Any] | None:
    """The case page's "Follow-up of a survey answer" panel (None when the case follows up no answer)."""
    loop = loop_queries.find_loop_for_case(actor, case.public_id)
    return loop_context(actor, loop) if loop is not None else None


# --- follow-ups ----------------------------------------------------------------------------------------------------
def _filters(form: LoopFilterForm) -> tuple[loop_queries.LoopFilters, int, int]:
    if not form.is_valid():
        reasons = {name: " ".join(str(e) for e in errors) for name, errors in form.errors.items()}
        raise ValidationError("Check the filters.", fields=reasons)
    data = form.cleaned_data
    filters = loop_queries.LoopFilters(
        state=data["state"] if "state" in form.data else "active",
        owner=data["owner"],
        age=data["age"],
        rule=data["rule"],
    )
    return filters, data["days"] or 30, data["within"] or 48


@staff_view
@require_GET
def loop_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.FEEDBACK_VIEW)
    form = LoopFilterForm(request.GET)
    fields: dict[str, Any] = form.fields
    fields["owner"].choices = [("", "Anyone"), ("-", "Nobody"), *_staff(actor)]
    fields["rule"].choices = [("", "Any rule"), *loop_queries.rule_choices(actor)]
    filters, days, within = _filters(form)
    page = loop_queries.list_loops(actor, filters, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE)
    now = clock.now()
    metrics = loop_queries.loop_metrics(
        actor, since=now - timedelta(days=days), until=now, within_hours=within, now=now
    )
    query = {k: v for k, v in request.GET.items() if k != "cursor" and v}
    context = {
        "feedback_tab": "loops",
        "form": form,
        "page": page,
        "rows": [(loop, round((now - loop.opened_at).total_seconds() / 3600, 1)) for loop in page.items],
        "metrics": metrics,
        "days": days,
        "next_url": f"?{urlencode({**query, 'cursor': page.next_cursor})}" if page.next_cursor else "",
    }
    return render(request, "web/feedback/loops/list.html", context)


@staff_view
@require_GET
def loop_detail(request: HttpRequest, loop_id: str) -> HttpResponse:
    actor = web_actor(request)
    loop = loop_queries.get_loop(actor, loop_id)
    context = {"feedback_tab": "loops", **loop_context(actor, loop)}
    return render(request, "web/feedback/loops/detail.html", context)


@staff_view
@require_POST
def loop_contact(request: HttpRequest, loop_id: str) -> HttpResponse:
    """ "Customer contacted": someone reached the customer (say, by a call cxloop did not see)."""
    actor = web_actor(request)
    loop = loop_queries.get_loop(actor, loop_id)
    loops.mark_contacted(actor, loop)
    messages.success(request, "Marked as contacted.")
    return _back(request, loop)


@staff_view
@require_POST
def loop_close(request: HttpRequest, loop_id: str) -> HttpResponse:
    """ "Close the loop" with its outcome. Refused, the page comes back with the typed note and the reason."""
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    loop = loop_queries.get_loop(actor, loop_id)
    form = CloseForm(request.POST)
    closed = None
    if form.is_valid():
        data = form.cleaned_data
        closed = attempt(form, lambda: loops.close_loop(actor, loop, outcome=data["outcome"], note=data["note"]))
    if closed is None:
        return _close_failed(request, actor, loop, form)
    messages.success(request, f"Loop closed: {closed.get_outcome_display()}.")
    return _back(request, loop)


def _close_failed(request: HttpRequest, actor: Actor, loop: Loop, form: CloseForm) -> HttpResponse:
    """The page the form was on, again, with the form as typed: the case page or the follow-up's page."""
    if request.POST.get("next", "").startswith("/cases/"):
        from cxloop.cases.queries import cases as case_queries
        from cxloop.web.views import case_page

        case = case_queries.get_case(actor, loop.case_ref)
        return case_page.render_case(request, actor, case, status=422, loop_close_form=form)
    context = {"feedback_tab": "loops", **loop_context(actor, loop, form)}
    return render(request, "web/feedback/loops/detail.html", context, status=422)


# --- rules ---------------------------------------------------------------------------------------------------------
def _rules_page(request: HttpRequest, actor: Actor, form: RuleForm, *, status: int = 200) -> HttpResponse:
    rows = [(rule, describe(rule.conditions or {})) for rule in loop_queries.list_rules(actor)]
    context = {"feedback_tab": "loop_rules", "rows": rows, "form": form, "can_manage": actor.can(Perm.FEEDBACK_MANAGE)}
    return render(request, "web/feedback/loops/rules.html", context, status=status)


@staff_view
@require_http_methods(["GET", "POST"])
def rule_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.FEEDBACK_VIEW)
    if request.method == "GET":
        return _rules_page(request, actor, _rule_form(actor))
    actor.require(Perm.FEEDBACK_MANAGE)
    form = _rule_form(actor, request.POST)
    created = None
    if form.is_valid():
        created = attempt(form, lambda: loop_rules.create_rule(actor, _rule_input(actor, form)), aliases=_RULE_ALIASES)
    if created is None:
        return _rules_page(request, actor, form, status=422)
    messages.success(request, f"Rule {created.name} added; it is tried last.")
    return redirect(reverse("web:feedback-loop-rules"))


@staff_view
@require_http_methods(["GET", "POST"])
def rule_detail(request: HttpRequest, rule_id: str) -> HttpResponse:
    actor = web_actor(request)
    rule = loop_queries.get_rule(actor, rule_id)
    context: dict[str, Any] = {
        "feedback_tab": "loop_rules",
        "rule": rule,
        "can_manage": actor.can(Perm.FEEDBACK_MANAGE),
    }
    if request.method == "GET":
        form = _rule_form(actor, initial=RuleForm.initial_of(rule))
        return render(request, "web/feedback/loops/rule.html", {**context, "form": form})
    actor.require(Perm.FEEDBACK_MANAGE)
    form = _rule_form(actor, request.POST)
    saved = None
    if form.is_valid():
        saved = attempt(form, lambda: loop_rules.update_rule(actor, rule, _rule_input(actor, form)), _RULE_ALIASES)
    if saved is None:
        return render(request, "web/feedback/loops/rule.html", {**context, "form": form}, status=422)
    messages.success(request, f"Rule {saved.name} saved.")
    return redirect(reverse("web:feedback-loop-rules"))


@staff_view
@require_POST
def rule_action(request: HttpRequest, rule_id: str, action: str) -> HttpResponse:
    """Move a rule up or down, switch it off or on, or delete it."""
    actor = web_actor(request)
    actor.require(Perm.FEEDBACK_MANAGE)
    rule = loop_queries.get_rule(actor, rule_id)
    if action in ("up", "down"):
        loop_rules.move_rule(actor, rule, -1 if action == "up" else 1)
    elif action in ("off", "on"):
        loop_rules.update_rule(actor, rule, RuleInput(is_active=action == "on"))
    elif action == "delete":
        loop_rules.delete_rule(actor, rule)
    else:
        raise NotFoundError("No such rule action.")
    messages.success(request, "Saved.")
    return redirect(reverse("web:feedback-loop-rules"))
