"""Automation rules in the staff UI: the ordered list (move up/down, switch on/off, last run, runs), the editor
(trigger picker, conditions and actions as JSON with a preview and errors by path, kept on a refused save), and the
run log with filters and one run's reasons and outcomes.

Reading needs journeys.view, changing journeys.manage; the queries and services check it, so these pages and the
API follow one rule.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cxloop.automation import conditions as rule_conditions
from cxloop.automation import queries, services
from cxloop.automation.definitions import ASSIGN_TARGETS, PRIORITIES, action_summary
from cxloop.automation.models import Rule, RuleRun, RunStatus
from cxloop.automation.services import RuleChanges, RuleInput
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, NotFoundError, PermissionDeniedError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.web.actor import web_actor
from cxloop.web.responses import staff_view

RUN_PAGE = 50
STATUS_BADGES = {
    "succeeded": "badge-ok",
    "partially": "badge-warn",
    "failed": "badge-danger",
    "skipped": "badge-muted",
    "matched": "badge-kind",
    "retrying": "badge-warn",
}
EXAMPLE_ACTIONS = [
    ("Tag the customer", {"type": "tag", "add": ["big spender"], "remove": []}),
    ("Assign the open conversation", {"type": "assign", "target": "conversation", "user": "alice", "team": ""}),
    ("Assign the open case to a team", {"type": "assign", "target": "case", "user": "", "team": "Support"}),
    (
        "Notify staff",
        {"type": "notify", "users": ["bob"], "team": "", "title": "{customer.name}: {event.type}", "body": ""},
    ),
    (
        "Open a case",
        {"type": "open_case", "subject": "Call {customer.name} back", "priority": "high", "owner": "", "team": ""},
    ),
    ("Call a webhook", {"type": "webhook", "url": "https://example.com/hooks/cxloop"}),
]
EXAMPLE_CONDITIONS = {
    "all": [
        {"field": "event.properties.total", "operator": "gte", "value": 500},
        {"not": {"field": "tags", "operator": "contains", "value": "vip"}},
    ]
}


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) if value is not None else ""


class RuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    trigger = forms.ChoiceField(label="When", help_text="A customer event type, or something that happens in cxloop")
    conditions = forms.CharField(
        required=False,
        label="And (conditions, JSON)",
        widget=forms.Textarea(attrs={"rows": 8, "class": "code", "spellcheck": "false"}),
        help_text="Empty: always. The journey condition language: all / any / not, field + operator + value, "
        "has_event.",
    )
    actions = forms.CharField(
        label="Then (actions, JSON list)",
        widget=forms.Textarea(attrs={"rows": 10, "class": "code", "spellcheck": "false"}),
        help_text="Run in order; one failing does not stop the others.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    stop_processing = forms.BooleanField(
        required=False, label="Stop here: when this rule matches, later rules are not tried"
    )

    def __init__(self, actor: Actor, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        groups: dict[str, list[tuple[str, str]]] = {"Customer events": [], "cxloop events": []}
        for choice in queries.trigger_choices(actor):
            group = "Customer events" if choice.source == "customer_event" else "cxloop events"
            groups[group].append((f"{choice.source}:{choice.type}", f"{choice.type} — {choice.label}"))
        field = self.fields["trigger"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(name, options) for name, options in groups.items() if options]

    @staticmethod
    def initial_of(rule: Rule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "description": rule.description,
            "trigger": f"{rule.trigger_source}:{rule.trigger_type}",
            "conditions": _pretty(rule.conditions),
            "actions": _pretty(rule.actions),
            "is_active": rule.is_active,
            "stop_processing": rule.stop_processing,
        }

    def _json(self, name: str, empty: Any) -> Any:
        text = self.cleaned_data.get(name) or ""
        if not text.strip():
            return empty
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None

    def clean_conditions(self) -> Any:
        return self._json("conditions", None)

    def clean_actions(self) -> Any:
        return self._json("actions", [])

    def rule_input(self) -> RuleInput:
        source, _, trigger_type = str(self.cleaned_data["trigger"]).partition(":")
        return RuleInput(
            name=self.cleaned_data["name"],
            description=self.cleaned_data.get("description") or "",
            trigger_source=source,
            trigger_type=trigger_type,
            conditions=self.cleaned_data.get("conditions"),
            actions=self.cleaned_data.get("actions") or [],
            is_active=bool(self.cleaned_data.get("is_active")),
            stop_processing=bool(self.cleaned_data.get("stop_processing")),
        )

    def add_service_errors(self, exc: CxloopError) -> None:
        """Each problem on its field, with its path inside the JSON ("actions[1].url: …")."""
        for path, reason in exc.fields.items():
            root = path.split(".", 1)[0].split("[", 1)[0]
            target = {"trigger": "trigger"}.get(root, root)
            if target in self.fields:
                self.add_error(target, f"{path}: {reason}" if path != target else reason)
            else:
                self.add_error(None, f"{path}: {reason}")
        if not exc.fields:
            self.add_error(None, exc.message)


def _preview(data: RuleInput) -> dict[str, Any]:
    """What the rule reads as, once it is valid: the conditions as lines and one line per action."""
    return {
        "conditions": rule_conditions.describe(rule_conditions.parse(data.conditions)),
        "actions": [action_summary(a) for a in data.actions if isinstance(a, dict)],
    }


class TrialForm(forms.Form):
    customer = forms.CharField(max_length=40, label="Customer id", help_text="cus_… (on the customer's page)")
    properties = forms.CharField(
        required=False,
        label="The event's properties (JSON)",
        widget=forms.Textarea(attrs={"rows": 4, "class": "code", "spellcheck": "false"}),
    )

    def clean_properties(self) -> Any:
        text = self.cleaned_data.get("properties") or ""
        if not text.strip():
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("must be a JSON object")
        return value


def _builder_config(actor: Actor) -> dict[str, Any]:
    """What the editor's form-based builder (static web/automation.js) offers; it writes the same JSON the
    textareas take, so the checks and the error paths are the server's."""
    fields = queries.condition_fields(actor)
    suggested = queries.action_suggestions(actor)
    return {
        "profile": list(fields.profile),
        "attributes": [{"key": key, "label": label} for key, label in fields.attributes],
        "priorities": list(PRIORITIES),
        "targets": list(ASSIGN_TARGETS),
        "suggest": {
            name: [{"value": value, "label": label} for value, label in getattr(suggested, name)]
            for name in ("users", "teams", "goals", "categories")
        },
    }


def _editor(
    request: HttpRequest,
    actor: Actor,
    form: RuleForm,
    rule: Rule | None,
    *,
    preview: Any = None,
    trial_form: TrialForm | None = None,
    trial: queries.Trial | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "web/automation/editor.html",
        {
            "form": form,
            "rule": rule,
            "preview": preview,
            "can_manage": actor.can(Perm.JOURNEYS_MANAGE),
            "examples": [(label, _pretty(example)) for label, example in EXAMPLE_ACTIONS],
            "example_conditions": _pretty(EXAMPLE_CONDITIONS),
            "recent_runs": queries.list_runs(actor, queries.RunFilters(rule=rule.public_id), limit=10).items
            if rule is not None
            else [],
            "status_badges": STATUS_BADGES,
            "trial_form": trial_form or TrialForm(),
            "trial": trial,
            "builder_config": _builder_config(actor),
        },
        status=status,
    )


def _save(request: HttpRequest, actor: Actor, rule: Rule | None) -> HttpResponse:
    """Check (preview) or save the posted rule; a refusal comes back with everything as typed."""
    form = RuleForm(actor, request.POST)
    if not form.is_valid():
        return _editor(request, actor, form, rule, status=422)
    data = form.rule_input()
    try:
        if "preview" in request.POST:
            services.check_rule(data)
            return _editor(request, actor, form, rule, preview=_preview(data))
        actor.require(Perm.JOURNEYS_MANAGE)
        if rule is None:
            saved = services.create_rule(actor, data)
            messages.success(request, f"Rule {saved.name} added; it is tried after the others.")
        else:
            saved = services.update_rule(
                actor,
                rule,
                RuleChanges(
                    name=data.name,
                    description=data.description,
                    trigger_source=data.trigger_source,
                    trigger_type=data.trigger_type,
                    conditions=data.conditions,
                    clear_conditions=data.conditions is None,
                    actions=data.actions,
                    is_active=data.is_active,
                    stop_processing=data.stop_processing,
                ),
            )
            messages.success(request, f"Rule {saved.name} saved.")
    except (PermissionDeniedError, NotFoundError):
        raise
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _editor(request, actor, form, rule, status=422)
    return redirect(reverse("web:automation-rules"))


@staff_view
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    rules = queries.list_rules(actor)
    rows = [
        (
            rule,
            rule_conditions.describe(rule_conditions.parse(rule.conditions)),
            [action_summary(a) for a in rule.actions],
        )
        for rule in rules
    ]
    return render(
        request,
        "web/automation/rules.html",
        {"rows": rows, "can_manage": actor.can(Perm.JOURNEYS_MANAGE), "automation_tab": "rules"},
    )


@staff_view
@require_http_methods(["GET", "POST"])
def rule_new(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.JOURNEYS_MANAGE)
    if request.method == "POST":
        return _save(request, actor, None)
    form = RuleForm(actor, initial={"is_active": True, "actions": _pretty([EXAMPLE_ACTIONS[0][1]])})
    return _editor(request, actor, form, None)


@staff_view
@require_http_methods(["GET", "POST"])
def rule_detail(request: HttpRequest, rule_id: str) -> HttpResponse:
    actor = web_actor(request)
    rule = queries.get_rule(actor, rule_id)
    if request.method == "POST":
        return _save(request, actor, rule)
    return _editor(request, actor, RuleForm(actor, initial=RuleForm.initial_of(rule)), rule)


@staff_view
@require_POST
def rule_try(request: HttpRequest, rule_id: str) -> HttpResponse:
    """Would the saved rule match this customer and a sample event? Nothing is written, no action runs."""
    actor = web_actor(request)
    rule = queries.get_rule(actor, rule_id)
    trial_form = TrialForm(request.POST)
    trial = None
    if trial_form.is_valid():
        try:
            trial = queries.try_rule(
                actor, rule, trial_form.cleaned_data["customer"].strip(), trial_form.cleaned_data["properties"]
            )
        except NotFoundError:
            trial_form.add_error("customer", "no such customer")
    form = RuleForm(actor, initial=RuleForm.initial_of(rule))
    status = 200 if trial is not None else 422
    return _editor(request, actor, form, rule, trial_form=trial_form, trial=trial, status=status)


@staff_view
@require_POST
def rule_action(request: HttpRequest, rule_id: str, action: str) -> HttpResponse:
    """Move a rule up or down, switch it on or off, duplicate it (then open the copy), or delete it."""
    actor = web_actor(request)
    rule = queries.get_rule(actor, rule_id)
    if action in ("up", "down"):
        services.move_rule(actor, rule, -1 if action == "up" else 1)
        messages.success(request, f"Moved {rule.name} {action}.")
    elif action in ("on", "off"):
        services.set_active(actor, rule, action == "on")
        messages.success(request, f"{rule.name} is switched {action}.")
    elif action == "delete":
        services.delete_rule(actor, rule)
        messages.success(request, f"Deleted {rule.name}.")
    elif action == "duplicate":
        copy = services.duplicate_rule(actor, rule)
        messages.success(request, f"Added {copy.name}, switched off: change it, then switch it on.")
        return redirect("web:automation-rule", copy.public_id)
    else:
        raise NotFoundError("No such rule action.")
    return redirect(reverse("web:automation-rules") + f"#rule-{rule.public_id}")


class RunFilterForm(forms.Form):
    rule = forms.ChoiceField(required=False, label="Rule")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *RunStatus.choices], label="Status")
    customer = forms.CharField(required=False, max_length=40, label="Customer id")
    trigger = forms.CharField(required=False, max_length=100, label="Trigger")

    def __init__(self, rules: list[Rule], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["rule"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Any rule"), *((r.public_id, r.name) for r in rules)]


@staff_view
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    rules = queries.list_rules(actor)
    form = RunFilterForm(rules, request.GET)
    filters = queries.RunFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = queries.RunFilters(
            rule=data["rule"] or None,
            status=data["status"] or None,
            customer=data["customer"].strip() or None,
            trigger=data["trigger"].strip() or None,
        )
    page = queries.list_runs(actor, filters, cursor=request.GET.get("cursor") or None, limit=RUN_PAGE)
    next_url = None
    if page.next_cursor:
        kept = {k: v for k, v in request.GET.items() if k != "cursor" and v}
        next_url = "?" + urlencode({**kept, "cursor": page.next_cursor})
    return render(
        request,
        "web/automation/runs.html",
        {
            "form": form,
            "runs": page.items,
            "next_url": next_url,
            "status_badges": STATUS_BADGES,
            "automation_tab": "runs",
        },
    )


def _attempt_rows(run: RuleRun) -> list[dict[str, Any]]:
    """The run's webhook calls for the run page, each with its action's summary and times as datetimes."""
    summaries = {o.get("index"): o.get("summary", "") for o in run.outcomes}
    for index, action in enumerate(run.rule.actions):
        summaries.setdefault(index, action_summary(action))
    return [
        {
            **attempt,
            "summary": summaries.get(attempt.get("index"), ""),
            "at": _moment(attempt.get("at")),
            "next_attempt_at": _moment(attempt.get("next_attempt_at")),
        }
        for attempt in run.attempts
    ]


def _moment(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


@staff_view
@require_GET
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    actor = web_actor(request)
    run = queries.get_run(actor, run_id)
    return render(
        request,
        "web/automation/run.html",
        {
            "run": run,
            "event_json": _pretty(run.event_data or {}),
            "status_badges": STATUS_BADGES,
            "automation_tab": "runs",
            "can_retry": actor.can(Perm.JOURNEYS_MANAGE)
            and run.status in (RunStatus.FAILED, RunStatus.PARTIALLY, RunStatus.RETRYING),
            "attempts": _attempt_rows(run),
        },
    )


@staff_view
@require_POST
def run_retry(request: HttpRequest, run_id: str) -> HttpResponse:
    """Run the failed actions again; a refusal (nothing failed, the rule changed) comes back as a message."""
    actor = web_actor(request)
    run = queries.get_run(actor, run_id)
    try:
        services.retry_run(actor, run)
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The failed actions will run again in a moment.")
    return redirect(reverse("web:automation-run", args=[run.public_id]))
