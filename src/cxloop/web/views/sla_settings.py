"""SLA settings: policies (conditions and targets, in the order they are tried), business calendars (weekly hours,
time zone, holidays) and which calendar each team counts in.

Everyone who reads cases may look; changes need cases.configure, which the SLA services check, so these pages and
the API follow one rule. A refused form comes back with what was typed and the reason on its field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from cxloop.cases.business_time import WEEKDAYS
from cxloop.cases.models import BusinessCalendar, Priority, SlaPolicy
from cxloop.cases.queries import setup as setup_queries
from cxloop.cases.queries import sla as sla_queries
from cxloop.cases.services import sla_config
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError
from cxloop.core.ids import whole_number
from cxloop.core.permissions import Perm
from cxloop.web.actor import web_actor
from cxloop.web.forms import attempt
from cxloop.web.responses import staff_view

_CHECKBOXES = forms.CheckboxSelectMultiple
_DAY_LABELS = dict(
    zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)
_TARGETS = ("first_response_minutes", "next_response_minutes", "resolution_minutes")


# --- forms ---------------------------------------------------------------------------------------------------------
def _minutes(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        required=False, min_value=1, max_value=sla_config.TARGET_MAX_MINUTES, label=label, help_text="Business minutes"
    )


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=100)
    position = forms.IntegerField(min_value=0, max_value=32767, initial=0, help_text="Lower is tried first.")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    priorities = forms.MultipleChoiceField(
        choices=Priority.choices, required=False, widget=_CHECKBOXES, help_text="None ticked: any priority."
    )
    categories = forms.MultipleChoiceField(
        choices=[], required=False, widget=_CHECKBOXES, help_text="None ticked: any category."
    )
    customer_tiers = forms.CharField(
        max_length=500,
        required=False,
        label="Customer tiers",
        help_text="Comma-separated, e.g. gold, platinum; empty: any.",
    )
    first_response_minutes = _minutes("First response")
    next_response_minutes = _minutes("Next response")
    resolution_minutes = _minutes("Resolution")
    warn_before_minutes = forms.IntegerField(
        min_value=0, max_value=sla_config.TARGET_MAX_MINUTES, initial=30, label="Warn before", help_text="Minutes."
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        categories = [(c.key, c.name) for c in setup_queries.list_categories(actor)]
        self.fields["categories"].choices = categories  # type: ignore[attr-defined]

    def to_input(self) -> sla_config.PolicyInput:
        data = self.cleaned_data
        return sla_config.PolicyInput(
            name=data["name"],
            position=data["position"],
            is_active=data["is_active"],
            priorities=tuple(data["priorities"]),
            categories=tuple(data["categories"]),
            customer_tiers=tuple(t.strip() for t in data["customer_tiers"].split(",") if t.strip()),
            first_response_minutes=data["first_response_minutes"],
            next_response_minutes=data["next_response_minutes"],
            resolution_minutes=data["resolution_minutes"],
            warn_before_minutes=data["warn_before_minutes"],
        )

    @staticmethod
    def initial_of(policy: SlaPolicy) -> dict[str, Any]:
        data = sla_config.policy_input_of(policy)
        return {
            "name": data.name,
            "position": data.position,
            "is_active": data.is_active,
            "priorities": list(data.priorities),
            "categories": list(data.categories),
            "customer_tiers": ", ".join(data.customer_tiers),
            **{f: getattr(data, f) for f in _TARGETS},
            "warn_before_minutes": data.warn_before_minutes,
        }


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=100)
    time_zone = forms.CharField(max_length=64, initial="UTC", label="Time zone", help_text="e.g. Europe/London")
    is_always_open = forms.BooleanField(required=False, label="Always open (24/7: every minute counts)")
    is_default = forms.BooleanField(required=False, label="Default (for teams without a calendar of their own)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day in WEEKDAYS:
            self.fields[day] = forms.CharField(
                max_length=200,
                required=False,
                label=_DAY_LABELS[day],
                help_text="e.g. 09:00-12:00, 13:00-17:00; 22:00-06:00 runs past midnight; empty: closed.",
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        hours: dict[str, list[list[str]]] = {}
        for day in WEEKDAYS:
            pairs = []
            for part in (data.get(day) or "").split(","):
                if not part.strip():
                    continue
                bits = [b.strip() for b in part.split("-")]
                if len(bits) != 2:
                    self.add_error(day, "write each interval as HH:MM-HH:MM")
                    break
                pairs.append(bits)
            hours[day] = pairs
        data["hours"] = hours
        return data

    def to_input(self) -> sla_config.CalendarInput:
        data = self.cleaned_data
        return sla_config.CalendarInput(
            name=data["name"],
            time_zone=data["time_zone"].strip(),
            hours=data["hours"],
            is_always_open=data["is_always_open"],
            is_default=data["is_default"],
        )

    @staticmethod
    def initial_of(calendar: BusinessCalendar) -> dict[str, Any]:
        hours = calendar.hours or {}
        initial: dict[str, Any] = {
            "name": calendar.name,
            "time_zone": calendar.time_zone,
            "is_always_open": calendar.is_always_open,
            "is_default": calendar.is_default,
        }
        initial.update({day: ", ".join(f"{s}-{e}" for s, e in hours.get(day, [])) for day in WEEKDAYS})
        return initial


class HolidayForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    name = forms.CharField(max_length=100)


_HOUR_ALIASES = {f"hours.{day}": day for day in WEEKDAYS} | {"hours": "mon"}


def _context(actor: Actor, page: str, **extra: Any) -> dict[str, Any]:
    return {"can_configure": actor.can(Perm.CASES_CONFIGURE), "page": page, "weekdays": WEEKDAYS, **extra}


# --- policies ------------------------------------------------------------------------------------------------------
@staff_view
@require_http_methods(["GET", "POST"])
def policies(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_VIEW)
    form = PolicyForm(request.POST or None, actor=actor)
    status = 200
    if request.method == "POST":
        actor.require(Perm.CASES_CONFIGURE)
        status = 422
        if form.is_valid():
            created = attempt(form, lambda: sla_config.create_policy(actor, form.to_input()))
            if created is not None:
                messages.success(request, f"Added the SLA policy {created.name}.")
                return redirect("web:sla-policies")
    context = _context(actor, "policies", policies=sla_queries.list_policies(actor), form=form)
    return render(request, "web/settings/sla/policies.html", context, status=status)


@staff_view
@require_http_methods(["GET", "POST"])
def policy_detail(request: HttpRequest, policy_id: int) -> HttpResponse:
    actor = web_actor(request)
    policy = sla_queries.get_policy(actor, policy_id)
    if request.method == "GET":
        form = PolicyForm(initial=PolicyForm.initial_of(policy), actor=actor)
        return render(request, "web/settings/sla/policy.html", _context(actor, "policies", policy=policy, form=form))
    actor.require(Perm.CASES_CONFIGURE)
    form = PolicyForm(request.POST, actor=actor)
    if form.is_valid():
        updated = attempt(form, lambda: sla_config.update_policy(actor, policy, form.to_input()))
        if updated is not None:
            messages.success(request, f"Saved the SLA policy {updated.name}.")
            return redirect("web:sla-policies")
    context = _context(actor, "policies", policy=policy, form=form)
    return render(request, "web/settings/sla/policy.html", context, status=422)


@staff_view
@require_POST
def policy_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    actor = web_actor(request)
    policy = sla_queries.get_policy(actor, policy_id)
    sla_config.delete_policy(actor, policy)
    messages.success(request, f"Deleted the SLA policy {policy.name}; cases under it keep their clocks.")
    return redirect("web:sla-policies")


# --- calendars -----------------------------------------------------------------------------------------------------
def _calendars_page(request: HttpRequest, actor: Actor, form: CalendarForm, *, status: int = 200) -> HttpResponse:
    context = _context(
        actor,
        "calendars",
        calendars=sla_queries.list_calendars(actor),
        teams=sla_queries.list_team_calendars(actor),
        form=form,
    )
    return render(request, "web/settings/sla/calendars.html", context, status=status)


@staff_view
@require_http_methods(["GET", "POST"])
def calendars(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_VIEW)
    if request.method == "GET":
        initial = {"mon": "09:00-17:00", "tue": "09:00-17:00", "wed": "09:00-17:00", "thu": "09:00-17:00"}
        return _calendars_page(request, actor, CalendarForm(initial={**initial, "fri": "09:00-17:00"}))
    actor.require(Perm.CASES_CONFIGURE)
    form = CalendarForm(request.POST)
    if form.is_valid():
        created = attempt(form, lambda: sla_config.create_calendar(actor, form.to_input()), _HOUR_ALIASES)
        if created is not None:
            messages.success(request, f"Added the calendar {created.name}.")
            return redirect("web:sla-calendar", created.pk)
    return _calendars_page(request, actor, form, status=422)


def _calendar_page(
    request: HttpRequest,
    actor: Actor,
    calendar: BusinessCalendar,
    form: CalendarForm,
    holiday_form: HolidayForm,
    *,
    status: int = 200,
) -> HttpResponse:
    context = _context(actor, "calendars", calendar=calendar, form=form, holiday_form=holiday_form)
    return render(request, "web/settings/sla/calendar.html", context, status=status)


@staff_view
@require_http_methods(["GET", "POST"])
def calendar_detail(request: HttpRequest, calendar_id: int) -> HttpResponse:
    actor = web_actor(request)
    calendar = sla_queries.get_calendar(actor, calendar_id)
    if request.method == "GET":
        form = CalendarForm(initial=CalendarForm.initial_of(calendar))
        return _calendar_page(request, actor, calendar, form, HolidayForm())
    actor.require(Perm.CASES_CONFIGURE)
    form = CalendarForm(request.POST)
    if form.is_valid():
        saved = attempt(form, lambda: sla_config.update_calendar(actor, calendar, form.to_input()), _HOUR_ALIASES)
        if saved is not None:
            messages.success(request, f"Saved the calendar {saved.name}.")
            return redirect("web:sla-calendar", calendar.pk)
    return _calendar_page(request, actor, calendar, form, HolidayForm(), status=422)


@staff_view
@require_POST
def calendar_delete(request: HttpRequest, calendar_id: int) -> HttpResponse:
    actor = web_actor(request)
    calendar = sla_queries.get_calendar(actor, calendar_id)
    sla_config.delete_calendar(actor, calendar)
    messages.success(request, f"Deleted the calendar {calendar.name}; its teams use the default calendar now.")
    return redirect("web:sla-calendars")


@staff_view
@require_POST
def holiday_add(request: HttpRequest, calendar_id: int) -> HttpResponse:
    actor = web_actor(request)
    calendar = sla_queries.get_calendar(actor, calendar_id)
    actor.require(Perm.CASES_CONFIGURE)
    holiday_form = HolidayForm(request.POST)
    if holiday_form.is_valid():
        day: date = holiday_form.cleaned_data["date"]
        name: str = holiday_form.cleaned_data["name"]
        added = attempt(holiday_form, lambda: sla_config.add_holiday(actor, calendar, day=day, name=name))
        if added is not None:
            messages.success(request, f"Added the holiday {added.name} on {added.date.isoformat()}.")
            return redirect("web:sla-calendar", calendar.pk)
    form = CalendarForm(initial=CalendarForm.initial_of(calendar))
    return _calendar_page(request, actor, calendar, form, holiday_form, status=422)


@staff_view
@require_POST
def holiday_remove(request: HttpRequest, calendar_id: int, holiday_id: int) -> HttpResponse:
    actor = web_actor(request)
    calendar = sla_queries.get_calendar(actor, calendar_id)
    holiday = next((h for h in calendar.holidays.all() if h.pk == holiday_id), None)
    if holiday is None:
        raise NotFoundError("No such holiday in this calendar.")
    sla_config.remove_holiday(actor, holiday)
    messages.success(request, f"Removed the holiday {holiday.name}.")
    return redirect("web:sla-calendar", calendar.pk)


@staff_view
@require_POST
def team_calendar(request: HttpRequest, team_id: int) -> HttpResponse:
    actor = web_actor(request)
    team = sla_queries.get_team(actor, team_id)
    value = request.POST.get("calendar", "")
    number = whole_number(value)
    calendar = sla_queries.get_calendar(actor, number) if number is not None else None
    sla_config.set_team_calendar(actor, team, calendar)
    messages.success(
        request, f"{team.name} counts its SLAs in {calendar.name if calendar else 'the default calendar'}."
    )
    return redirect("web:sla-calendars")
