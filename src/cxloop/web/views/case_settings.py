"""Case configuration pages: engagement goals, categories, case fields, case templates (suggested plans), which
channels open cases by themselves, and macros. Everyone who reads cases may look; changes need
cases.configure, which the setup services check (so the API and these pages follow one rule).

Each page lists what exists and has one "add" form; rows have their own small forms (retire or restore, delete,
replace a template's tasks, save a channel's setting). A refused form comes back with what was typed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cxloop.cases.models import CaseFieldType, Priority
from cxloop.cases.queries import setup as setup_queries
from cxloop.cases.services import setup as setup_services
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.ids import whole_number
from cxloop.core.permissions import Perm
from cxloop.interactions.models import Channel
from cxloop.web.actor import web_actor
from cxloop.web.forms import attempt
from cxloop.web.responses import staff_view

CASE_CHANNELS = [(c.value, c.label) for c in Channel if c not in (Channel.NOTE, Channel.EVENT, Channel.SURVEY)]
PAGES = (
    ("goals", "Goals"),
    ("categories", "Categories"),
    ("fields", "Case fields"),
    ("templates", "Case templates"),
    ("channels", "Channels"),
    ("macros", "Macros"),
)


# --- forms ---------------------------------------------------------------------------------------------------------
class GoalForm(forms.Form):
    key = forms.SlugField(max_length=40, help_text="Lowercase letters, digits and dashes; cannot change later.")
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)


class CategoryForm(forms.Form):
    key = forms.SlugField(max_length=60, help_text="Cannot change later.")
    name = forms.CharField(max_length=100)
    goal = forms.ChoiceField(choices=[], required=False, label="Default goal")
    description = forms.CharField(max_length=300, required=False)


class FieldForm(forms.Form):
    key = forms.CharField(max_length=50, help_text="Lowercase letters, digits and underscores.")
    label = forms.CharField(max_length=100)
    type = forms.ChoiceField(choices=CaseFieldType.choices)
    choices = forms.CharField(max_length=2000, required=False, help_text="For a choice field: one per line.")
    required_to_resolve = forms.BooleanField(required=False, label="Required before a case is resolved")


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=100)
    goal = forms.ChoiceField(choices=[], required=False)
    category = forms.ChoiceField(choices=[], required=False)
    tasks = forms.CharField(
        max_length=20_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text='One task per line: "Title | hours until due | checklist item; item". Only the title is needed.',
    )


class TasksForm(forms.Form):
    tasks = forms.CharField(max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 4}))


class ChannelSettingForm(forms.Form):
    opens_cases = forms.BooleanField(required=False, label="Opens a case by itself")
    goal = forms.ChoiceField(choices=[], required=False)
    category = forms.ChoiceField(choices=[], required=False)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)


class MacroForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)
    actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "class": "code-input"}),
        help_text='JSON list, e.g. [{"type": "set_priority", "value": "high"}, {"type": "add_note", "body": "…"}]',
    )

    def clean_actions(self) -> list[Any]:
        try:
            value = json.loads(self.cleaned_data["actions"])
        except ValueError as exc:
            raise forms.ValidationError("Not valid JSON.") from exc
        if not isinstance(value, list):
            raise forms.ValidationError("Give a JSON list of actions.")
        return value


def parse_tasks(text: str) -> tuple[setup_services.TemplateTaskInput, ...]:
    """ "Title | 24 | first; second" lines as task inputs (the service checks titles, hours and sizes)."""
    tasks: list[setup_services.TemplateTaskInput] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        hours = whole_number(parts[1], max_digits=6) if len(parts) > 1 else None
        checklist = tuple(item.strip() for item in parts[2].split(";") if item.strip()) if len(parts) > 2 else ()
        tasks.append(setup_services.TemplateTaskInput(title=parts[0], due_after_hours=hours, checklist=checklist))
    return tuple(tasks)


def tasks_text(template: Any) -> str:
    """A template's tasks in the line format parse_tasks reads, for editing them in place."""
    lines = []
    for task in template.tasks.all():
        parts = [task.title, str(task.due_after_hours or ""), "; ".join(str(item) for item in task.checklist)]
        while parts and not parts[-1]:
            parts.pop()
        lines.append(" | ".join(parts))
    return "\n".join(lines)


# --- helpers -------------------------------------------------------------------------------------------------------
def _goal_choices(actor: Actor) -> list[tuple[str, str]]:
    return [("", "—"), *((g.key, g.name) for g in setup_queries.list_goals(actor))]


def _category_choices(actor: Actor) -> list[tuple[str, str]]:
    return [("", "—"), *((c.key, c.name) for c in setup_queries.list_categories(actor))]


def _with_choices(actor: Actor, form: forms.Form) -> forms.Form:
    if "goal" in form.fields:
        form.fields["goal"].choices = _goal_choices(actor)  # type: ignore[attr-defined]
    if "category" in form.fields:
        form.fields["category"].choices = _category_choices(actor)  # type: ignore[attr-defined]
    return form


def _goal(actor: Actor, key: str) -> Any:
    return setup_queries.get_goal(actor, key) if key else None


def _category(actor: Actor, key: str) -> Any:
    return setup_queries.get_category(actor, key) if key else None


def _page(request: HttpRequest, actor: Actor, page: str, form: forms.Form, *, status: int = 200) -> HttpResponse:
    rows: dict[str, Callable[[], Any]] = {
        "goals": lambda: setup_queries.list_goals(actor, include_retired=True),
        "categories": lambda: setup_queries.list_categories(actor, include_retired=True),
        "fields": lambda: setup_queries.list_case_fields(actor),
        "templates": lambda: [
            (t, TasksForm(initial={"tasks": tasks_text(t)}, prefix=f"t{t.pk}"))
            for t in setup_queries.list_templates(actor, include_inactive=True)
        ],
        "channels": lambda: _channel_rows(actor),
        "macros": lambda: setup_queries.list_macros(actor, include_inactive=True),
    }
    context = {
        "page": page,
        "pages": PAGES,
        "rows": rows[page](),
        "form": form,
        "can_configure": actor.can(Perm.CASES_CONFIGURE),
    }
    return render(request, "web/settings/cases/page.html", context, status=status)


def _channel_rows(actor: Actor) -> list[tuple[str, str, ChannelSettingForm]]:
    settings = {s.channel: s for s in setup_queries.list_channel_settings(actor)}
    rows = []
    for value, label in CASE_CHANNELS:
        setting = settings.get(value)
        initial = {
            "opens_cases": setting.opens_cases if setting else False,
            "goal": setting.goal.key if setting and setting.goal else "",
            "category": setting.category.key if setting and setting.category else "",
            "priority": setting.priority if setting else Priority.NORMAL,
        }
        form = _with_choices(actor, ChannelSettingForm(initial=initial, prefix=value))
        assert isinstance(form, ChannelSettingForm)
        rows.append((value, label, form))
    return rows


def _done(request: HttpRequest, page: str, notice: str) -> HttpResponse:
    messages.success(request, notice)
    return redirect(reverse("web:setup-cases", args=[page]))


_FORMS: dict[str, type[forms.Form]] = {
    "goals": GoalForm,
    "categories": CategoryForm,
    "fields": FieldForm,
    "templates": TemplateForm,
    "channels": ChannelSettingForm,
    "macros": MacroForm,
}


def _create(actor: Actor, page: str, data: dict[str, Any]) -> Any:
    if page == "goals":
        return setup_services.create_goal(actor, key=data["key"], name=data["name"], description=data["description"])
    if page == "categories":
        return setup_services.create_category(
            actor, key=data["key"], name=data["name"], goal=_goal(actor, data["goal"]), description=data["description"]
        )
    if page == "fields":
        return setup_services.define_case_field(
            actor,
            key=data["key"],
            label=data["label"],
            type=data["type"],
            choices=[line.strip() for line in data["choices"].splitlines() if line.strip()],
            required_to_resolve=data["required_to_resolve"],
        )
    if page == "templates":
        template_input = setup_services.TemplateInput(
            name=data["name"],
            goal=_goal(actor, data["goal"]),
            category=_category(actor, data["category"]),
            tasks=parse_tasks(data["tasks"]),
        )
        return setup_services.create_template(actor, template_input)
    return setup_services.create_macro(
        actor, name=data["name"], description=data["description"], actions=data["actions"]
    )


# --- views ---------------------------------------------------------------------------------------------------------
@staff_view
@require_http_methods(["GET", "POST"])
def case_setup(request: HttpRequest, page: str) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_VIEW)
    if page not in _FORMS or (page == "channels" and request.method == "POST"):
        raise NotFoundError("No such settings page.")
    if request.method == "GET":
        return _page(request, actor, page, _with_choices(actor, _FORMS[page]()))
    actor.require(Perm.CASES_CONFIGURE)
    form = _with_choices(actor, _FORMS[page](request.POST))
    created = attempt(form, lambda: _create(actor, page, form.cleaned_data)) if form.is_valid() else None
    if created is None:
        return _page(request, actor, page, form, status=422)
    return _done(request, page, f"Saved {created}.")


@staff_view
@require_POST
def case_setup_row(request: HttpRequest, page: str, key: str, action: str) -> HttpResponse:
    """A row's own action: retire/restore a goal, category, template or macro; delete a field; replace a template's
    tasks; save a channel's setting."""
    actor = web_actor(request)
    actor.require(Perm.CASES_CONFIGURE)
    operation = _row_operation(actor, request, page, key, action)
    operation()
    return _done(request, page, "Saved.")


def _row_operation(actor: Actor, request: HttpRequest, page: str, key: str, action: str) -> Callable[[], Any]:
    active = action == "restore"
    if page == "goals" and action in ("retire", "restore"):
        return lambda: setup_services.update_goal(actor, setup_queries.get_goal(actor, key), is_active=active)
    if page == "categories" and action in ("retire", "restore"):
        category = setup_queries.get_category(actor, key)
        return lambda: setup_services.update_category(actor, category, is_active=active)
    if page == "fields" and action == "delete":
        return lambda: setup_services.delete_case_field(actor, setup_queries.get_case_field(actor, key))
    number = whole_number(key)
    if page == "templates" and number is not None:
        template = setup_queries.get_template(actor, number)
        if action in ("retire", "restore"):
            return lambda: setup_services.update_template(actor, template, is_active=active)
        if action == "tasks":
            text = request.POST.get(f"t{template.pk}-tasks", "")
            return lambda: setup_services.replace_template_tasks(actor, template, parse_tasks(text))
    if page == "macros" and number is not None and action in ("retire", "restore"):
        macro = setup_queries.get_macro(actor, number)
        return lambda: setup_services.update_macro(actor, macro, is_active=active)
    if page == "channels" and action == "save" and key in dict(CASE_CHANNELS):
        form = _with_choices(actor, ChannelSettingForm(request.POST, prefix=key))
        if not form.is_valid():
            reasons = {name: " ".join(str(e) for e in errors) for name, errors in form.errors.items()}
            raise ValidationError("Check the channel's setting.", fields=reasons)
        data = form.cleaned_data
        return lambda: setup_services.set_channel_case_setting(
            actor,
            key,
            opens_cases=data["opens_cases"],
            goal=_goal(actor, data["goal"]),
            category=_category(actor, data["category"]),
            priority=data["priority"],
        )
    raise NotFoundError("No such settings action.")
