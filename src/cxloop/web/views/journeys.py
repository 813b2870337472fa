"""Journeys: the list (status, trigger, entered, in journey, goal rate), the journey page (the diagram with the
number of customers at each step, status buttons, versions, analytics with a trend chart, the enrolments), one
enrolment's history, and the customer page's "Journeys" panel with "Enrol in…".

Reading needs journeys.view, status changes journeys.manage, enrolling or removing a customer journeys.enrol.
The editor, "new journey from an example" and the dry run are in journey_editor.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, NotFoundError, PermissionDeniedError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.journeys import analytics, queries, services
from cxloop.journeys.diagram import KIND_NAMES, journey_diagram, summary, trigger_text
from cxloop.journeys.elements import JourneyDocument, step_kind
from cxloop.journeys.models import Enrolment, EnrolmentState, Journey, JourneyStatus, JourneyVersion
from cxloop.web import charts
from cxloop.web.actor import web_actor
from cxloop.web.forms import apply_errors
from cxloop.web.responses import staff_view
from cxloop.web.views.message_templates import find_customer

JOURNEY_PAGE = 50
ENROLMENT_PAGE = 25
TREND_DAYS = 30
STATUS_BADGES = {"draft": "badge-muted", "active": "badge-ok", "paused": "badge-warn", "archived": "badge-muted"}
STATE_BADGES = {"active": "badge-kind", "goal": "badge-ok", "exited": "badge-muted", "failed": "badge-danger"}
TRIGGER_NAMES = {"event": "Event", "segment": "Segment", "date_attribute": "Date", "manual": "Manual"}
# What each status button does, and who may press it from which status.
ACTIONS = {
    "activate": (services.activate_journey, "Activated {name}: it enrols customers on its trigger now."),
    "pause": (services.pause_journey, "Paused {name}: nobody new enters; waits hold until you resume."),
    "resume": (services.resume_journey, "Resumed {name}."),
    "archive": (services.archive_journey, "Archived {name}: customers still in it were taken out."),
}


class JourneyFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Name or key")
    status = forms.ChoiceField(
        required=False, choices=[("", "Any but archived"), *JourneyStatus.choices], label="Status"
    )
    trigger = forms.ChoiceField(required=False, choices=[("", "Any trigger"), *TRIGGER_NAMES.items()], label="Trigger")


class EnrolmentFilterForm(forms.Form):
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *EnrolmentState.choices])
    step = forms.CharField(required=False, max_length=100, label="At step")


class EnrolForm(forms.Form):
    journey = forms.ChoiceField(choices=[], label="Journey")

    def __init__(self, *args: Any, journeys: list[Journey], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "enrol")
        super().__init__(*args, **kwargs)
        self.fields["journey"].choices = [(j.key, j.name) for j in journeys]  # type: ignore[attr-defined]


class EnrolCustomerForm(forms.Form):
    customer = forms.CharField(max_length=200, label="Customer", help_text="cus_…, or an exact name, email or phone")


class RemoveForm(forms.Form):
    reason = forms.CharField(max_length=300, initial="removed by staff", label="Why")


# --- helpers ------------------------------------------------------------------------------------------------------


def journey_url(journey: Journey, anchor: str = "", **query: str) -> str:
    url = reverse("web:journey", args=[journey.key])
    if query:
        url += "?" + urlencode(query)
    return url + (f"#{anchor}" if anchor else "")


def _document(version: JourneyVersion | None) -> JourneyDocument | None:
    return queries.document_of(version) if version is not None else None


def trend_chart(per_day: list[tuple[Any, int]], *, chart_id: str = "journey-trend") -> SafeString:
    """Entries per day as bars: the day of the month under each bar, the month under its days."""
    total = sum(n for _, n in per_day)
    bars = [charts.Bar(str(day.day), float(n), charts.LINE, day.strftime("%B %Y")) for day, n in per_day]
    first, last = per_day[0][0], per_day[-1][0]
    return charts.bar_chart(
        bars,
        chart_id=chart_id,
        title=f"Customers entering per day, last {len(per_day)} days",
        description=f"{total} entered from {first:%d %B %Y} to {last:%d %B %Y}; one bar per day.",
        value_name="Entered",
    )


def _step_rows(document: JourneyDocument | None, figures: analytics.JourneyAnalytics) -> list[dict[str, Any]]:
    order = [s.id for s in document.steps] if document else []
    rows = []
    for figure in figures.steps(order):
        step = next((s for s in document.steps if s.id == figure.step), None) if document else None
        rows.append(
            {
                "id": figure.step,
                "kind": KIND_NAMES[step_kind(step)] if step else "(an older version's step)",
                "summary": summary(step) if step else "",
                "now": figure.now,
                "passed": figure.passed,
            }
        )
    return rows


def _chosen_version(actor: Actor, journey: Journey, raw: str) -> JourneyVersion | None:
    if not raw:
        return journey.current_version
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise ValidationError("Not a version number.", fields={"version": "a version number"})
    return queries.get_version(actor, journey, int(raw))


# --- the list -----------------------------------------------------------------------------------------------------


@staff_view
@require_GET
def journey_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.JOURNEYS_VIEW)
    filters = JourneyFilterForm(request.GET or None)
    wanted = filters.cleaned_data if filters.is_valid() else {"q": "", "status": "", "trigger": ""}
    page, status = None, 200
    try:
        page = queries.list_journeys(
            actor,
            queries.JourneyFilters(status=wanted["status"], trigger_kind=wanted["trigger"], text=wanted["q"]),
            cursor=request.GET.get("cursor") or None,
            limit=JOURNEY_PAGE,
        )
    except ValidationError as exc:
        apply_errors(filters, exc)
        status = 422
    figures = analytics.summaries(actor, [j.pk for j in page.items]) if page else {}
    active = {k: v for k, v in wanted.items() if v}
    context = {
        "filters": filters,
        "filtered": bool(active),
        "rows": [(j, figures[j.pk]) for j in page.items] if page else [],
        "page": page,
        "next_url": "?" + urlencode({**active, "cursor": page.next_cursor}) if page and page.next_cursor else "",
        "status_badges": STATUS_BADGES,
        "trigger_names": TRIGGER_NAMES,
        "can_manage": actor.can(Perm.JOURNEYS_MANAGE),
    }
    return render(request, "web/journeys/list.html", context, status=status)


# --- the journey page ---------------------------------------------------------------------------------------------


def _enrolment_page(actor: Actor, request: HttpRequest, journey: Journey, version: int | None) -> dict[str, Any]:
    form = EnrolmentFilterForm(request.GET or None)
    wanted = form.cleaned_data if form.is_valid() else {"state": "", "step": ""}
    page = queries.list_enrolments(
        actor,
        journey,
        queries.EnrolmentFilters(state=wanted["state"], step=wanted["step"].strip(), version=version),
        cursor=request.GET.get("cursor") or None,
        limit=ENROLMENT_PAGE,
    )
    keep = {k: str(v) for k, v in {**wanted, "version": version or ""}.items() if v}
    return {
        "enrolment_filters": form,
        "enrolments": page,
        "enrolments_filtered": bool(wanted["state"] or wanted["step"]),
        "enrolments_next": "?" + urlencode({**keep, "cursor": page.next_cursor}) + "#enrolments"
        if page.next_cursor
        else "",
    }


@staff_view
@require_GET
def journey_detail(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    return _render_journey(request, actor, queries.get_journey(actor, key))


def _render_journey(
    request: HttpRequest, actor: Actor, journey: Journey, enrol_form: EnrolCustomerForm | None = None, status: int = 200
) -> HttpResponse:
    version = _chosen_version(actor, journey, request.GET.get("version", "").strip())
    number = version.number if version is not None and version != journey.current_version else None
    document = _document(version)
    figures = analytics.journey_analytics(actor, journey, version=number, days=TREND_DAYS)
    counts = analytics.step_counts(actor, journey, version=version.number if version else None)
    on_other_versions = figures.active - sum(counts.values()) if number is None else 0
    versions = queries.versions_of(actor, journey)
    by_version = {v.version: v for v in analytics.by_version(actor, journey)}
    context = {
        "journey": journey,
        "version": version,
        "viewing_old": number is not None,
        "document": document,
        "trigger": trigger_text(document) if document else "",
        "diagram": journey_diagram(document, counts=counts) if document else "",
        "figures": figures,
        "on_other_versions": on_other_versions,
        "steps": _step_rows(document, figures),
        "exits": sorted(figures.exited_by_reason.items(), key=lambda item: (-item[1], item[0])),
        "trend": trend_chart(figures.per_day),
        "versions": [(v, by_version.get(v.number)) for v in versions],
        "status_badges": STATUS_BADGES,
        "state_badges": STATE_BADGES,
        "can_manage": actor.can(Perm.JOURNEYS_MANAGE) and journey.status != JourneyStatus.ARCHIVED,
        "enrol_form": enrol_form or EnrolCustomerForm(),
        "can_enrol": actor.can(Perm.JOURNEYS_ENROL) and journey.status == JourneyStatus.ACTIVE,
        **_enrolment_page(actor, request, journey, number),
    }
    return render(request, "web/journeys/detail.html", context, status=status)


@staff_view
@require_POST
def journey_status(request: HttpRequest, key: str) -> HttpResponse:
    actor = web_actor(request)
    journey = queries.get_journey(actor, key)
    actor.require(Perm.JOURNEYS_MANAGE)
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        raise ValidationError("Unknown action.", fields={"action": ", ".join(ACTIONS)})
    move, done = action
    try:
        journey = move(actor, journey)
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done.format(name=journey.name))
    return redirect(journey_url(journey))


@staff_view
@require_POST
def journey_duplicate(request: HttpRequest, key: str) -> HttpResponse:
    """A draft copy of the journey, opened in the editor to change before it is activated."""
    actor = web_actor(request)
    copy = services.duplicate_journey(actor, queries.get_journey(actor, key))
    messages.success(request, f"Added {copy.name} as a draft ({copy.key}): change it, then activate it.")
    return redirect("web:journey-edit", copy.key)


@staff_view
@require_POST
def journey_enrol(request: HttpRequest, key: str) -> HttpResponse:
    """Enrol a customer named by id, name, email or phone (the journey page's "Enrol a customer")."""
    actor = web_actor(request)
    journey = queries.get_journey(actor, key)
    actor.require(Perm.JOURNEYS_ENROL)
    form = EnrolCustomerForm(request.POST)
    customer = find_customer(actor, form.data.get("customer", "")) if form.is_valid() else None
    if form.is_valid() and customer is None:
        form.add_error("customer", "No single customer matches: give their id (cus_…) or an exact email or phone.")
    if customer is not None:
        try:
            enrolment = services.enrol_manually(actor, journey, customer)
        except ValidationError as exc:
            apply_errors(form, exc)
        except (PermissionDeniedError, NotFoundError):
            raise
        except CxloopError as exc:
            form.add_error("customer", exc.message)
        else:
            messages.success(request, f"Enrolled {customer.display_name} in {journey.name}.")
            return redirect(reverse("web:journey-enrolment", args=[journey.key, enrolment.public_id]))
    return _render_journey(request, actor, journey, enrol_form=form, status=422)


# --- one enrolment ------------------------------------------------------------------------------------------------


def _check_text(check: dict[str, Any]) -> str:
    """One comparison a condition made, in words: what was read and whether it held."""
    verdict = "yes" if check.get("result") else "no"
    if "has_event" in check:
        within = f" within {check['within']}" if check.get("within") else ""
        return f"{check['has_event']}{within}: {check.get('found')} found, {check.get('min_count')} needed ({verdict})"
    if "field" in check:
        expected = f" {check['expected']!r}" if "expected" in check else ""
        return f"{check['field']} {check.get('operator')}{expected}: was {check.get('value')!r} ({verdict})"
    return f"not ({verdict})" if "not" in check else ""


def _why(detail: dict[str, Any]) -> str:
    """The history's reason in words: the branch taken and what each branch read, a wait's terms, the runtime's
    own reason or error; anything else as key: value."""
    if "taken" in detail:
        tried = [
            f"{t.get('branch')}: " + ("; ".join(filter(None, map(_check_text, t.get("checks", [])))) or "—")
            for t in detail.get("tried", [])
            if isinstance(t, dict)
        ]
        return f"took “{detail['taken']}”" + (f" — {' | '.join(tried)}" if tried else "")
    for key in ("why", "reason", "error", "message"):
        if isinstance(detail.get(key), str) and detail[key]:
            return str(detail[key])
    if "duration" in detail or "time_of_day" in detail or "timeout" in detail:
        terms = detail.get("duration") or (f"until {detail['time_of_day']}" if "time_of_day" in detail else "")
        if "timeout" in detail:
            terms = f"for {detail.get('event')}, at most {detail['timeout']}"
        until = f" (due {detail['until'][:16].replace('T', ' ')})" if isinstance(detail.get("until"), str) else ""
        return f"waits {terms}{until}"
    if "event" in detail:
        return f"{detail['event']} arrived"
    return "; ".join(f"{k}: {v}" for k, v in detail.items())


def _render_enrolment(
    request: HttpRequest, actor: Actor, enrolment: Enrolment, form: RemoveForm | None = None, status: int = 200
) -> HttpResponse:
    history = queries.history_of(actor, enrolment)
    context = {
        "enrolment": enrolment,
        "journey": enrolment.journey,
        "history": [(row, _why(row.detail)) for row in history],
        "state_badges": STATE_BADGES,
        "remove_form": form or RemoveForm(),
        "can_remove": actor.can(Perm.JOURNEYS_ENROL) and enrolment.state == EnrolmentState.ACTIVE,
    }
    return render(request, "web/journeys/enrolment.html", context, status=status)


@staff_view
@require_GET
def enrolment_detail(request: HttpRequest, key: str, enrolment_id: str) -> HttpResponse:
    actor = web_actor(request)
    journey = queries.get_journey(actor, key)
    return _render_enrolment(request, actor, queries.get_enrolment(actor, enrolment_id, journey=journey))


@staff_view
@require_POST
def enrolment_remove(request: HttpRequest, key: str, enrolment_id: str) -> HttpResponse:
    actor = web_actor(request)
    enrolment = queries.get_enrolment(actor, enrolment_id, journey=queries.get_journey(actor, key))
    actor.require(Perm.JOURNEYS_ENROL)
    form = RemoveForm(request.POST)
    if form.is_valid():
        try:
            services.remove_enrolment(actor, enrolment, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_errors(form, exc)
        except (PermissionDeniedError, NotFoundError):
            raise
        except CxloopError as exc:  # it finished meanwhile: the page shows how
            messages.error(request, exc.message)
            return redirect(reverse("web:journey-enrolment", args=[key, enrolment_id]))
        else:
            messages.success(request, f"Took {enrolment.customer.display_name} out of {enrolment.journey.name}.")
            return redirect(reverse("web:journey-enrolment", args=[key, enrolment_id]))
    return _render_enrolment(request, actor, enrolment, form, status=422)


# --- the customer page's panel ------------------------------------------------------------------------------------


def customer_panel_context(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    """The customer's enrolments, and "Enrol in…" for those who may enrol (None hides the panel)."""
    if not actor.can(Perm.JOURNEYS_VIEW):
        return None
    can_enrol = actor.can(Perm.JOURNEYS_ENROL)
    journeys = queries.active_journeys(actor) if can_enrol else []
    return {
        "journey_enrolments": queries.enrolments_of_customer(actor, customer.pk),
        "state_badges": STATE_BADGES,
        "enrol_form": EnrolForm(journeys=journeys) if journeys else None,
    }


@staff_view
@require_POST
def customer_enrol(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    customer = customer_queries.get_customer(actor, public_id)
    actor.require(Perm.JOURNEYS_ENROL)
    form = EnrolForm(request.POST, journeys=queries.active_journeys(actor))
    back = reverse("web:customer", args=[customer.public_id]) + "#panel-journeys"
    if not form.is_valid():
        messages.error(request, "Choose an active journey.")
        return redirect(back)
    journey = queries.get_journey(actor, form.cleaned_data["journey"])
    try:
        services.enrol_manually(actor, journey, customer)
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Enrolled {customer.display_name} in {journey.name}.")
    return redirect(back)
