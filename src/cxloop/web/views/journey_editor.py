"""Journeys: the editor (the document as YAML or JSON in a text box; "Check" lists each problem with its path
beside the text and draws the diagram of a valid draft; "Save as new version"), a new journey (empty or from a
shipped example, or the example installed as it is), and the dry run (a sample customer and events → the path,
with the time of each step and why).

Typed work is never lost: a refused save answers 422 with the text as it was typed, and the box keeps an unsaved
draft in the browser (app.js's data-draft) until a save succeeds.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import yaml
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, NotFoundError, PermissionDeniedError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.journeys import queries, services
from cxloop.journeys.diagram import journey_diagram
from cxloop.journeys.documents import example_names, example_text, load_example
from cxloop.journeys.dry_run import DryRun
from cxloop.journeys.elements import JourneyDocument
from cxloop.journeys.models import Journey, JourneyStatus
from cxloop.web.actor import web_actor
from cxloop.web.responses import staff_view
from cxloop.web.views.journeys import journey_url
from cxloop.web.views.message_templates import find_customer

# The session remembers, across the redirect after a save, whose draft the editor must forget.
DRAFT_CLEAR_SESSION_KEY = "cx_journey_draft_clear"
NEW_DRAFT = "cx-draft:journey:new"
MAX_LOCATE = 200_000  # characters: longer texts list their problems without line numbers


class SourceForm(forms.Form):
    source = forms.CharField(
        required=False,
        strip=False,
        label="Document",
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "mono", "data-draft-override": ""}),
        help_text="YAML or JSON; docs/journeys.md describes every field.",
    )
    syntax = forms.ChoiceField(choices=[("yaml", "YAML"), ("json", "JSON")], initial="yaml")
    note = forms.CharField(required=False, max_length=500, label="What changed", help_text="Shown in the versions")

    def __init__(self, *args: Any, draft_key: str, clear: bool = False, with_note: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["source"].widget.attrs["data-draft"] = draft_key
        if clear:
            self.fields["source"].widget.attrs["data-draft-clear"] = ""
        if not with_note:
            del self.fields["note"]


class DryRunForm(forms.Form):
    customer = forms.CharField(max_length=200, label="Customer", help_text="cus_…, or a name, email or phone")
    start = forms.DateTimeField(
        required=False,
        label="Enters at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Empty: now",
    )
    events = forms.CharField(
        required=False,
        label="Sample events",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
        help_text="One a line: the type, optionally followed by when (YYYY-MM-DD HH:MM), e.g. product.used "
        "2026-03-02 09:00",
    )

    def sample_events(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for number, line in enumerate(self.cleaned_data["events"].splitlines(), start=1):
            parts = line.split(maxsplit=1)
            if not parts:
                continue
            at = None
            if len(parts) > 1:
                try:
                    at = datetime.fromisoformat(parts[1].strip())
                except ValueError:
                    self.add_error("events", f"line {number}: the time must read YYYY-MM-DD HH:MM")
                    continue
                if at.tzinfo is None:
                    at = at.replace(tzinfo=clock.now().tzinfo)
            found.append({"type": parts[0][:100], "at": at, "properties": {}})
        return found


def _draft_key(journey: Journey | None, example: str = "") -> str:
    """Where the browser keeps the unsaved text: per journey, and per example for a new one started from it."""
    if journey is not None:
        return f"cx-draft:journey:{journey.key}"
    return f"{NEW_DRAFT}:{example}" if example in example_names() else NEW_DRAFT


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _line_of(root: yaml.Node | None, path: str) -> int | None:
    """The line (from 1) of the text where `path` is, or of the nearest part that exists (a missing field: the
    field that holds the object lacking it); None for the whole document or text that is not YAML/JSON."""
    if root is None or path in ("", "document"):
        return None
    node, line = root, int(root.start_mark.line)
    for name, index in _PATH_PART.findall(path):
        if name and isinstance(node, yaml.MappingNode):
            pair = next(((key, value) for key, value in node.value if getattr(key, "value", None) == name), None)
            if pair is None:
                break
            node, line = pair[1], int(pair[0].start_mark.line)
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            node = node.value[int(index)]
            line = int(node.start_mark.line)
        else:
            break
    return line + 1


def _located(source: str, problems: dict[str, str]) -> list[tuple[str, str, int | None]]:
    """Each problem with the line it is on, in the order of the text (then by path)."""
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader) if problems and len(source) <= MAX_LOCATE else None
    except (yaml.YAMLError, RecursionError):  # not YAML (the parser said why) or nested past Python's stack
        root = None
    found = [(path, reason, _line_of(root, path)) for path, reason in problems.items()]
    return sorted(found, key=lambda item: (item[2] or 0, item[0]))


def _check(form: SourceForm) -> tuple[JourneyDocument | None, dict[str, str]]:
    """The checked document, or each problem by path (the form's own errors under "syntax"/"note")."""
    try:
        return services.parse_source(form.cleaned_data["source"], form.cleaned_data["syntax"]), {}
    except ValidationError as exc:
        return None, dict(exc.fields) or {"document": exc.message}


def _render_editor(
    request: HttpRequest,
    journey: Journey | None,
    form: SourceForm,
    *,
    problems: dict[str, str] | None = None,
    checked: JourneyDocument | None = None,
    status: int = 200,
    example: str = "",
) -> HttpResponse:
    context = {
        "example": example,
        "journey": journey,
        "form": form,
        "problems": _located(form.data.get("source", "") if form.is_bound else "", problems or {}),
        "checked": checked,
        "preview": journey_diagram(checked, diagram_id="draft-diagram") if checked else "",
        "examples": [(name, load_example(name)) for name in example_names()],
        "action_url": reverse("web:journey-edit", args=[journey.key]) if journey else reverse("web:journey-new"),
    }
    return render(request, "web/journeys/editor.html", context, status=status)


def _save(actor: Actor, journey: Journey | None, form: SourceForm) -> Journey:
    data = form.cleaned_data
    if journey is None:
        return services.create_journey(actor, data["source"], syntax=data["syntax"])
    services.publish_version(actor, journey, data["source"], syntax=data["syntax"], note=data.get("note", ""))
    return journey


def _submit(request: HttpRequest, actor: Actor, journey: Journey | None) -> HttpResponse:
    example = request.POST.get("example", "")
    draft_key = _draft_key(journey, example)
    form = SourceForm(request.POST, draft_key=draft_key, with_note=journey is not None)
    example = example if journey is None and example in example_names() else ""
    if not form.is_valid():
        return _render_editor(request, journey, form, status=422, example=example)
    checked, problems = _check(form)
    if request.POST.get("action") != "save" or problems:
        status = 422 if problems else 200
        return _render_editor(
            request, journey, form, problems=problems, checked=checked, status=status, example=example
        )
    try:
        saved = _save(actor, journey, form)
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:
        found = dict(exc.fields) or {"": exc.message}
        return _render_editor(request, journey, form, problems=found, status=exc.status, example=example)
    request.session[DRAFT_CLEAR_SESSION_KEY] = draft_key
    version = saved.current_version.number if saved.current_version else 1
    messages.success(request, f"Saved {saved.name} as version {version}.")
    return redirect(journey_url(saved))


@staff_view
@require_http_methods(["GET", "POST"])
def journey_new(request: HttpRequest) -> HttpResponse:
    """An empty editor, or one holding an example's text (?example=onboarding) to change before saving."""
    actor = web_actor(request)
    actor.require(Perm.JOURNEYS_MANAGE)
    if request.method == "POST":
        return _submit(request, actor, None)
    name = request.GET.get("example", "")
    name = name if name in example_names() else ""
    draft_key = _draft_key(None, name)
    clear = request.session.pop(DRAFT_CLEAR_SESSION_KEY, None) == draft_key
    initial = {"source": example_text(name) if name else "", "syntax": "yaml"}
    form = SourceForm(initial=initial, draft_key=draft_key, clear=clear, with_note=False)
    return _render_editor(request, None, form, example=name)


@staff_view
@require_http_methods(["GET", "POST"])
def journey_edit(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    journey = queries.get_journey(actor, key)
    actor.require(Perm.JOURNEYS_MANAGE)
    if journey.status == JourneyStatus.ARCHIVED:
        messages.error(request, "The journey is archived; it takes no new versions.")
        return redirect(journey_url(journey))
    if request.method == "POST":
        return _submit(request, actor, journey)
    current = journey.current_version
    clear = request.session.pop(DRAFT_CLEAR_SESSION_KEY, None) == _draft_key(journey)
    form = SourceForm(
        initial={"source": current.source if current else "", "syntax": current.syntax if current else "yaml"},
        draft_key=_draft_key(journey),
        clear=clear,
    )
    return _render_editor(request, journey, form)


@staff_view
@require_POST
def example_install(request: HttpRequest, name: str) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.JOURNEYS_MANAGE)
    try:
        journey = services.install_example(actor, name)
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("web:journey-new"))
    messages.success(request, f"Installed {journey.name} as a draft: change what you need, then activate it.")
    return redirect(journey_url(journey))


# --- dry run ------------------------------------------------------------------------------------------------------


def _render_dry_run(
    request: HttpRequest, journey: Journey, form: DryRunForm, result: DryRun | None = None, status: int = 200
) -> HttpResponse:
    context = {"journey": journey, "form": form, "result": result}
    return render(request, "web/journeys/dry_run.html", context, status=status)


@staff_view
@require_http_methods(["GET", "POST"])
def dry_run(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    journey = queries.get_journey(actor, key)
    if request.method == "GET":
        return _render_dry_run(request, journey, DryRunForm())
    form = DryRunForm(request.POST)
    if not form.is_valid():
        return _render_dry_run(request, journey, form, status=422)
    events = form.sample_events()
    customer = find_customer(actor, form.cleaned_data["customer"])
    if customer is None:
        form.add_error("customer", "No single customer matches: give their id (cus_…) or an exact email or phone.")
    if form.errors or customer is None:
        return _render_dry_run(request, journey, form, status=422)
    try:
        result = queries.dry_run_journey(actor, journey, customer, events=events, start=form.cleaned_data["start"])
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:
        form.add_error(None, exc.message)
        for path, reason in exc.fields.items():
            form.add_error(None, f"{path}: {reason}")
        return _render_dry_run(request, journey, form, status=exc.status)
    return _render_dry_run(request, journey, form, result)
