"""Settings → Event types: the customer-event types senders may use, with their JSON Schemas.

Everyone who sees interactions may read the list (a sender's developer needs the schemas); registering and
changing a type needs channels.manage, as in the API. A schema that is not valid JSON Schema is refused with
the path of each error, on the schema's own field.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, NotFoundError, PermissionDeniedError
from cxloop.core.permissions import Perm
from cxloop.customers.models import Customer
from cxloop.events import queries, services
from cxloop.events.models import EventType
from cxloop.events.types import EventTypeInput
from cxloop.web.actor import web_actor
from cxloop.web.responses import staff_view

RECENT_DAYS = 30


class EventTypeForm(forms.Form):
    key = forms.CharField(
        max_length=100, help_text="Lower-case letters, digits and . _ : - (e.g. purchase.completed); fixed once saved"
    )
    name = forms.CharField(max_length=200)
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    properties_schema = forms.CharField(
        label="Properties schema (JSON Schema)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "code-input"}),
        help_text='A JSON Schema object, e.g. {"type": "object", "required": ["amount"]}; empty: any properties',
    )
    show_on_timeline = forms.BooleanField(required=False, label="Show on the customer's timeline")
    is_active = forms.BooleanField(required=False, initial=True, label="Active (accepts new events)")

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["key"].disabled = True

    def clean_properties_schema(self) -> dict[str, Any]:
        text = self.cleaned_data.get("properties_schema", "").strip()
        if not text:
            return {}
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
        if not isinstance(schema, dict):
            raise forms.ValidationError("The schema must be a JSON object.")
        return schema

    def data_input(self, key: str | None = None) -> EventTypeInput:
        data = self.cleaned_data
        return EventTypeInput(
            key=key or data["key"],
            name=data["name"],
            description=data["description"],
            properties_schema=data["properties_schema"],
            show_on_timeline=data["show_on_timeline"],
            is_active=data["is_active"],
        )


def _initial(event_type: EventType) -> dict[str, Any]:
    return {
        "key": event_type.key,
        "name": event_type.name,
        "description": event_type.description,
        "properties_schema": json.dumps(event_type.properties_schema, indent=2) if event_type.properties_schema else "",
        "show_on_timeline": event_type.show_on_timeline,
        "is_active": event_type.is_active,
    }


def _save(form: EventTypeForm, operation: Any) -> EventType | None:
    """The service's refusal on the form: each schema error under the schema field with its JSON path."""
    try:
        result: EventType = operation()
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:
        for field, reason in exc.fields.items():
            if field.startswith("properties_schema"):
                path = field.removeprefix("properties_schema").lstrip(".") or "(the schema)"
                form.add_error("properties_schema", f"{path}: {reason}")
            elif field in form.fields:
                form.add_error(field, reason)
            else:
                form.add_error(None, f"{field}: {reason}")
        if not exc.fields:
            form.add_error(None, exc.message)
        return None
    return result


@staff_view
@require_http_methods(["GET", "POST"])
def event_types(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    can_manage = actor.can(Perm.CHANNELS_MANAGE)
    form = EventTypeForm(request.POST or None, initial={"is_active": True})
    status = 200
    if request.method == "POST":
        actor.require(Perm.CHANNELS_MANAGE)
        status = 422
        if form.is_valid():
            created = _save(form, lambda: services.create_event_type(actor, form.data_input()))
            if created is not None:
                messages.success(request, f"Registered the event type {created.key}.")
                return redirect("web:event-types")
    types = queries.event_types_with_counts(actor, clock.now() - timedelta(days=RECENT_DAYS))
    context = {"types": types, "form": form, "can_manage": can_manage, "recent_days": RECENT_DAYS}
    return render(request, "web/settings/event_types.html", context, status=status)


@staff_view
@require_http_methods(["GET", "POST"])
def event_type_edit(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    event_type = queries.get_event_type(actor, key)
    can_manage = actor.can(Perm.CHANNELS_MANAGE)
    form = EventTypeForm(request.POST or None, initial=_initial(event_type), editing=True)
    status = 200
    if request.method == "POST":
        actor.require(Perm.CHANNELS_MANAGE)
        status = 422
        if form.is_valid():
            saved = _save(form, lambda: services.update_event_type(actor, key, form.data_input(key)))
            if saved is not None:
                messages.success(request, f"Saved the event type {saved.key}.")
                return redirect("web:event-types")
    context = {"event_type": event_type, "form": form, "can_manage": can_manage}
    return render(request, "web/settings/event_type_edit.html", context, status=status)


# --- the customer page's "Events" panel -----------------------------------------------------------------------
PANEL_TEMPLATE = "web/settings/customer_events_panel.html"
PANEL_ORDER = 45
PANEL_EVENTS = 10


def panel_context(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    """The customer's latest events of every type (page views included: they stay off the timeline); nothing
    when there are none."""
    latest = list(queries.customer_events(actor, customer).order_by("-occurred_at", "-id")[:PANEL_EVENTS])
    if not latest:
        return None
    rows = [
        {"event": e, "properties": [(str(k), _shown(v)) for k, v in list(e.properties.items())[:4]]} for e in latest
    ]
    return {"rows": rows, "customer": customer}


def _shown(value: Any) -> str:
    return (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))[:120]
