"""Routing settings: queues (members, assignment mode, team, the default one), the rules in the order they are
tried with a conditions editor, a preview ("where would this go, and why"), and each agent's own availability.

Everyone who reads cases may look; changes need cases.configure, which the routing services check (so the API and
these pages follow one rule). A refused form comes back with what was typed and the reason on its field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cxloop.cases.models import AgentStatus, AssignmentMode, Priority, RoutingRule, RuleTarget
from cxloop.cases.queries import routing as routing_queries
from cxloop.cases.queries import setup as setup_queries
from cxloop.cases.services import routing
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.interactions.models import Channel
from cxloop.web.actor import web_actor
from cxloop.web.forms import attempt
from cxloop.web.responses import staff_view

CHANNELS = [(c.value, c.label) for c in Channel if c not in (Channel.NOTE,)]
_CHECKBOXES = forms.CheckboxSelectMultiple
_TEXT_LISTS = ("languages", "keywords", "customer_tiers", "emotions")
_CHOICE_LISTS = ("channels", "goals", "categories", "priorities")


def _words(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


# --- forms ---------------------------------------------------------------------------------------------------------
class QueueForm(forms.Form):
    key = forms.CharField(max_length=50, help_text="Lower-case letters, digits, '_' or '-'; cannot change later.")
    name = forms.CharField(max_length=100)
    team = forms.ChoiceField(choices=[], required=False)
    assignment_mode = forms.ChoiceField(choices=AssignmentMode.choices, label="Assignment")
    is_default = forms.BooleanField(required=False, label="Default queue (where work goes when no rule matches)")
    members = forms.MultipleChoiceField(choices=[], required=False, widget=_CHECKBOXES)


class QueueEditForm(QueueForm):
    key = None  # type: ignore[assignment]


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    queue = forms.ChoiceField(choices=[], help_text="Where matching work goes.")
    applies_to = forms.ChoiceField(choices=RuleTarget.choices, initial=RuleTarget.BOTH, label="Applies to")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    channels = forms.MultipleChoiceField(choices=CHANNELS, required=False, widget=_CHECKBOXES)
    languages = forms.CharField(max_length=500, required=False, help_text="Language codes, comma-separated: de, fr")
    goals = forms.MultipleChoiceField(choices=[], required=False, widget=_CHECKBOXES, help_text="Cases only.")
    categories = forms.MultipleChoiceField(choices=[], required=False, widget=_CHECKBOXES, help_text="Cases only.")
    priorities = forms.MultipleChoiceField(
        choices=Priority.choices, required=False, widget=_CHECKBOXES, help_text="Cases only."
    )
    keywords = forms.CharField(
        max_length=2000, required=False, help_text="Words or phrases in the subject or text, comma-separated."
    )
    customer_tiers = forms.CharField(max_length=500, required=False, label="Customer tiers", help_text="e.g. gold")
    sentiment_below = forms.FloatField(
        required=False, min_value=-1, max_value=1, help_text="-1 (angry) to 1 (happy); once text analytics scores it."
    )
    emotions = forms.CharField(max_length=500, required=False, help_text="e.g. anger, fear")

    def conditions(self) -> dict[str, Any]:
        """The filled-in conditions as the rule stores them (the service checks them)."""
        data = self.cleaned_data
        result: dict[str, Any] = {key: list(data[key]) for key in _CHOICE_LISTS if data.get(key)}
        result.update({key: _words(data[key]) for key in _TEXT_LISTS if _words(data.get(key) or "")})
        if data.get("sentiment_below") is not None:
            result["sentiment_below"] = data["sentiment_below"]
        return result

    @staticmethod
    def initial_of(rule: RoutingRule) -> dict[str, Any]:
        conditions = rule.conditions or {}
        initial: dict[str, Any] = {
            "name": rule.name,
            "queue": rule.queue.key,
            "applies_to": rule.applies_to,
            "is_active": rule.is_active,
            "sentiment_below": conditions.get("sentiment_below"),
        }
        initial.update({key: conditions.get(key, []) for key in _CHOICE_LISTS})
        initial.update({key: ", ".join(conditions.get(key, [])) for key in _TEXT_LISTS})
        return initial


class PreviewForm(forms.Form):
    target = forms.ChoiceField(
        choices=[(RuleTarget.CASES, "A new case"), (RuleTarget.CONVERSATIONS, "A new conversation")]
    )
    channel = forms.ChoiceField(choices=[("", "—"), *CHANNELS], required=False)
    text = forms.CharField(max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    customer = forms.CharField(max_length=40, required=False, help_text="A customer's id (cus_…): language and tier.")
    language = forms.CharField(max_length=16, required=False, help_text="Overrides the customer's language.")
    goal = forms.ChoiceField(choices=[], required=False)
    category = forms.ChoiceField(choices=[], required=False)
    priority = forms.ChoiceField(choices=[("", "—"), *Priority.choices], required=False)
    sentiment = forms.FloatField(required=False, min_value=-1, max_value=1)
    emotion = forms.CharField(max_length=30, required=False)


class AvailabilityForm(forms.Form):
    status = forms.ChoiceField(choices=AgentStatus.choices, widget=forms.RadioSelect)
    capacity = forms.IntegerField(
        min_value=0, max_value=routing.CAPACITY_MAX, help_text="Open cases and chats at once."
    )


# --- helpers -------------------------------------------------------------------------------------------------------
def _queue_choices(actor: Actor, form: forms.Form) -> forms.Form:
    fields = form.fields
    if "team" in fields:
        fields["team"].choices = [("", "—"), *((str(t.pk), t.name) for t in routing_queries.list_teams(actor))]  # type: ignore[attr-defined]
    if "members" in fields:
        fields["members"].choices = [(w.user.username, w.user.display_name) for w in routing_queries.workloads(actor)]  # type: ignore[attr-defined]
    return form


def _rule_choices(actor: Actor, form: forms.Form) -> forms.Form:
    fields = form.fields
    if "queue" in fields:
        fields["queue"].choices = [(q.key, q.name) for q in routing_queries.list_queues(actor)]  # type: ignore[attr-defined]
    goals = [(g.key, g.name) for g in setup_queries.list_goals(actor)]
    categories = [(c.key, c.name) for c in setup_queries.list_categories(actor)]
    if isinstance(form, PreviewForm):
        goals, categories = [("", "—"), *goals], [("", "—"), *categories]
    fields["goals" if "goals" in fields else "goal"].choices = goals  # type: ignore[attr-defined]
    fields["categories" if "categories" in fields else "category"].choices = categories  # type: ignore[attr-defined]
    return form


def _team(actor: Actor, value: str) -> Any:
    return next((t for t in routing_queries.list_teams(actor) if str(t.pk) == value), None) if value else None


def _members(actor: Actor, usernames: list[str]) -> list[Any]:
    return [w.user for w in routing_queries.workloads(actor) if w.user.username in set(usernames)]


def _context(actor: Actor, **extra: Any) -> dict[str, Any]:
    return {"can_configure": actor.can(Perm.CASES_CONFIGURE), **extra}


def _queues_page(request: HttpRequest, actor: Actor, form: forms.Form, *, status: int = 200) -> HttpResponse:
    rows = []
    for queue in routing_queries.list_queues(actor):
        initial = {
            "name": queue.name,
            "team": str(queue.team_id or ""),
            "assignment_mode": queue.assignment_mode,
            "is_default": queue.is_default,
            "members": routing_queries.member_usernames(queue),
        }
        rows.append((queue, _queue_choices(actor, QueueEditForm(initial=initial, prefix=queue.key))))
    context = _context(actor, page="queues", rows=rows, form=form, workloads=routing_queries.workloads(actor))
    return render(request, "web/settings/routing/queues.html", context, status=status)


def describe(conditions: dict[str, Any]) -> str:
    """A rule's conditions in one line: "channels: email, chat · sentiment_below: -0.5"."""
    parts = []
    for key in routing.CONDITION_KEYS:
        if key in conditions:
            value = conditions[key]
            parts.append(f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}")
    return " · ".join(parts) or "everything"


def _rules_page(request: HttpRequest, actor: Actor, form: forms.Form, *, status: int = 200) -> HttpResponse:
    rows = [(rule, describe(rule.conditions or {})) for rule in routing_queries.list_rules(actor)]
    context = _context(actor, page="rules", rows=rows, form=form)
    return render(request, "web/settings/routing/rules.html", context, status=status)


# --- views: queues -------------------------------------------------------------------------------------------------
@staff_view
@require_http_methods(["GET", "POST"])
def queues(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_VIEW)
    if request.method == "GET":
        return _queues_page(request, actor, _queue_choices(actor, QueueForm()))
    actor.require(Perm.CASES_CONFIGURE)
    form = _queue_choices(actor, QueueForm(request.POST))
    created = None
    if form.is_valid():
        data = form.cleaned_data
        created = attempt(
            form,
            lambda: routing.create_queue(
                actor,
                key=data["key"],
                name=data["name"],
                team=_team(actor, data["team"]),
                assignment_mode=data["assignment_mode"],
                is_default=data["is_default"],
                members=_members(actor, data["members"]),
            ),
        )
    if created is None:
        return _queues_page(request, actor, form, status=422)
    messages.success(request, f"Queue {created.name} added.")
    return redirect(reverse("web:routing-queues"))


def _edit_queue(actor: Actor, request: HttpRequest, key: str) -> None:
    queue = routing_queries.get_queue(actor, key)
    form = _queue_choices(actor, QueueEditForm(request.POST, prefix=key))
    if not form.is_valid():
        reasons = {name: " ".join(str(e) for e in errors) for name, errors in form.errors.items()}
        raise ValidationError("Check the queue's settings.", fields=reasons)
    data = form.cleaned_data
    routing.save_queue_settings(
        actor,
        queue,
        name=data["name"],
        team=_team(actor, data["team"]),
        assignment_mode=data["assignment_mode"],
        is_default=data["is_default"],
        members=_members(actor, data["members"]),
    )


@staff_view
@require_POST
def queue_action(request: HttpRequest, key: str, action: str) -> HttpResponse:
    """A queue's own form: save its settings and members, or delete it."""
    actor = web_actor(request)
    actor.require(Perm.CASES_CONFIGURE)
    if action == "save":
        _edit_queue(actor, request, key)
    elif action == "delete":
        routing.delete_queue(actor, routing_queries.get_queue(actor, key))
    else:
        raise NotFoundError("No such queue action.")
    messages.success(request, "Saved.")
    return redirect(reverse("web:routing-queues"))


# --- views: rules --------------------------------------------------------------------------------------------------
@staff_view
@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_VIEW)
    if request.method == "GET":
        return _rules_page(request, actor, _rule_choices(actor, RuleForm()))
    actor.require(Perm.CASES_CONFIGURE)
    form = _rule_choices(actor, RuleForm(request.POST))
    created = None
    if form.is_valid():
        assert isinstance(form, RuleForm)
        data = form.cleaned_data
        created = attempt(
            form,
            lambda: routing.create_rule(
                actor,
                name=data["name"],
                queue=routing_queries.get_queue(actor, data["queue"]),
                conditions=form.conditions(),
                applies_to=data["applies_to"],
                is_active=data["is_active"],
            ),
            aliases=_CONDITION_ALIASES,
        )
    if created is None:
        return _rules_page(request, actor, form, status=422)
    messages.success(request, f"Rule {created.name} added; it is tried last.")
    return redirect(reverse("web:routing-rules"))


_CONDITION_ALIASES = {f"conditions.{key}": key for key in routing.CONDITION_KEYS}


@staff_view
@require_http_methods(["GET", "POST"])
def rule_detail(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Edit one rule's name, queue, target and conditions."""
    actor = web_actor(request)
    rule = routing_queries.get_rule(actor, rule_id)
    if request.method == "GET":
        form = _rule_choices(actor, RuleForm(initial=RuleForm.initial_of(rule)))
        return render(request, "web/settings/routing/rule.html", _context(actor, page="rules", rule=rule, form=form))
    actor.require(Perm.CASES_CONFIGURE)
    form = _rule_choices(actor, RuleForm(request.POST))
    saved = None
    if form.is_valid():
        assert isinstance(form, RuleForm)
        data = form.cleaned_data
        saved = attempt(
            form,
            lambda: routing.update_rule(
                actor,
                rule,
                name=data["name"],
                queue=routing_queries.get_queue(actor, data["queue"]),
                conditions=form.conditions(),
                applies_to=data["applies_to"],
                is_active=data["is_active"],
            ),
            aliases=_CONDITION_ALIASES,
        )
    if saved is None:
        context = _context(actor, page="rules", rule=rule, form=form)
        return render(request, "web/settings/routing/rule.html", context, status=422)
    messages.success(request, f"Rule {saved.name} saved.")
    return redirect(reverse("web:routing-rules"))


@staff_view
@require_POST
def rule_action(request: HttpRequest, rule_id: int, action: str) -> HttpResponse:
    """Move a rule up or down, switch it off or on, or delete it."""
    actor = web_actor(request)
    actor.require(Perm.CASES_CONFIGURE)
    rule = routing_queries.get_rule(actor, rule_id)
    if action in ("up", "down"):
        routing.move_rule(actor, rule, -1 if action == "up" else 1)
    elif action in ("off", "on"):
        routing.update_rule(actor, rule, is_active=action == "on")
    elif action == "delete":
        routing.delete_rule(actor, rule)
    else:
        raise NotFoundError("No such rule action.")
    messages.success(request, "Saved.")
    return redirect(reverse("web:routing-rules"))


# --- views: preview and availability -------------------------------------------------------------------------------
@staff_view
@require_http_methods(["GET"])
def preview(request: HttpRequest) -> HttpResponse:
    """Where would this go now, and why. Reads only: round robin is not advanced."""
    actor = web_actor(request)
    actor.require(Perm.CASES_VIEW)
    asked = "target" in request.GET
    form = _rule_choices(actor, PreviewForm(request.GET if asked else None))
    explanation = None
    if asked and form.is_valid():
        data = form.cleaned_data
        explanation = attempt(
            form,
            lambda: routing_queries.explain_route(
                actor,
                target=data["target"],
                channel=data["channel"],
                text=data["text"],
                customer_id=data["customer"].strip(),
                language=data["language"],
                goal=data["goal"],
                category=data["category"],
                priority=data["priority"],
                sentiment=data["sentiment"],
                emotion=data["emotion"],
            ),
            aliases={"customer_id": "customer"},
        )
    status = 422 if asked and explanation is None else 200
    context = _context(actor, page="preview", form=form, explanation=explanation)
    return render(request, "web/settings/routing/preview.html", context, status=status)


@staff_view
@require_http_methods(["GET", "POST"])
def my_availability(request: HttpRequest) -> HttpResponse:
    """The signed-in agent says whether they take new work now, and how much they carry at once."""
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    mine = routing_queries.workload_of(actor, request.user.get_username())
    if request.method == "GET":
        form = AvailabilityForm(initial={"status": mine.status, "capacity": mine.capacity})
        return render(request, "web/settings/routing/availability.html", {"form": form, "mine": mine})
    form = AvailabilityForm(request.POST)
    saved = None
    if form.is_valid():
        data = form.cleaned_data
        saved = attempt(
            form,
            lambda: routing.set_availability(actor, mine.user, status=data["status"], capacity=data["capacity"]),
        )
    if saved is None:
        return render(request, "web/settings/routing/availability.html", {"form": form, "mine": mine}, status=422)
    messages.success(request, f"You are {saved.get_status_display().lower()}.")
    return redirect(reverse("web:my-availability"))
