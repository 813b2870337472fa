"""The case page: header, timeline with the reply box and notes, the plan, promises, SLA clock, hand-overs,
links and the outcome. This file renders the page and answers the case-level forms (edit, status, resolve,
reopen, hand-over, take, acknowledge); the plan, notes, replies and links are in case_work.py.

Every case-level form carries the version the page showed. A change someone else made in the meantime comes
back as the page with a "changed by someone else" message, the user's typed values kept, and the hidden
version moved on, so checking and submitting again applies their change on top of the other one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cxloop.cases import statuses
from cxloop.cases.errors import StaleVersionError
from cxloop.cases.models import Case, CaseStatus, Handover
from cxloop.cases.queries import board as board_queries
from cxloop.cases.queries import cases as case_queries
from cxloop.cases.queries import handovers as handover_queries
from cxloop.cases.services import cases as case_services
from cxloop.cases.services.cases import CaseChanges
from cxloop.core.actor import Actor
from cxloop.core.errors import CxloopError, NotFoundError, PermissionDeniedError
from cxloop.core.permissions import Perm
from cxloop.interactions import inbox as inbox_queries
from cxloop.web.actor import web_actor
from cxloop.web.forms import apply_errors
from cxloop.web.inbox_forms import NoteForm
from cxloop.web.responses import staff_view
from cxloop.web.views import case_timeline, feedback_loops, feedback_surveys
from cxloop.web.views.case_forms import (
    CaseEditForm,
    HandoverForm,
    LinkForm,
    MergeForm,
    ResolveForm,
    StatusForm,
    TaskForm,
)

T = TypeVar("T")
STALE_MESSAGE = (
    "This case was changed by someone else while you were working on it. What you typed is kept below: "
    "check the case as it is now, then submit again."
)


# --- running a service for a form --------------------------------------------------------------------
def run(form: forms.Form, operation: Callable[[], T], aliases: dict[str, str] | None = None) -> T | None:
    """Call a service for a valid form. A stale version or a business error becomes a form error and None;
    permission and not-found errors go up to staff_view (403/404 pages)."""
    try:
        return operation()
    except StaleVersionError as exc:
        form.add_error(None, STALE_MESSAGE)
        data = form.data.copy()  # type: ignore[attr-defined]
        data[form.add_prefix("version")] = str(exc.current)
        form.data = data
        form.stale = True  # type: ignore[attr-defined]
        return None
    except (PermissionDeniedError, NotFoundError):
        raise
    except CxloopError as exc:
        apply_errors(form, exc, aliases)
        return None


def case_url(case: Case, anchor: str = "") -> str:
    return reverse("web:case", args=[case.public_id]) + anchor


def back(case: Case, anchor: str = "") -> HttpResponse:
    return redirect(case_url(case, anchor))


# --- the page ------------------------------------------------------------------------------------------
def _people(actor: Actor) -> tuple[list[tuple[str, str]], list[tuple[int, str]]]:
    users = [(user.username, user.display_name) for user in inbox_queries.assignable_users(actor)]
    teams = [(team.pk, team.name) for team in inbox_queries.teams(actor)]
    return users, teams


def _edit_form(case: Case, choices: board_queries.CaseChoices, data: Any = None) -> CaseEditForm:
    initial = {
        "version": case.version,
        "subject": case.subject,
        "description": case.description,
        "priority": case.priority,
        "goal": case.goal.key,
        "category": case.category.key if case.category else "",
    }
    return CaseEditForm(
        data,
        initial=initial,
        goals=[(g.key, g.name) for g in _with(choices.goals, case.goal)],
        categories=[(c.key, c.name) for c in _with(choices.categories, case.category)],
    )


def _with(items: list[Any], current: Any) -> list[Any]:
    """The active choices plus the case's current one (it may have been deactivated since)."""
    if current is None or any(item.pk == current.pk for item in items):
        return items
    return [*items, current]


def _owns(actor: Actor, case: Case) -> bool:
    return actor.user is not None and case.owner_id == actor.user.pk


def status_choices(case: Case) -> list[tuple[str, str]]:
    """Where the status menu may go: the state machine's moves, less resolve and reopen (their own forms)."""
    labels = dict(CaseStatus.choices)
    allowed = statuses.allowed_transitions(case.status)
    hidden = {CaseStatus.RESOLVED.value} | ({CaseStatus.OPEN.value} if case.status == CaseStatus.RESOLVED else set())
    return [(value, labels[value]) for value in allowed if value not in hidden]


def case_context(request: HttpRequest, actor: Actor, case: Case, **bound: forms.Form) -> dict[str, Any]:
    """Everything the page shows. `bound` replaces a form by name with one holding the user's input."""
    choices = board_queries.case_choices(actor, queues=False, macros=False)
    users, teams = _people(actor)
    can_work = actor.can(Perm.CASES_WORK) and case.status != CaseStatus.CLOSED
    status_form = StatusForm(initial={"version": case.version})
    status_form.fields["status"].choices = status_choices(case)  # type: ignore[attr-defined]
    context: dict[str, Any] = {
        "case": case,
        "customer": case.customer,
        "can_work": can_work,
        "can_reply": can_work and actor.can(Perm.INTERACTIONS_WRITE) and case.customer.is_active,
        "can_hand_over": can_work and (actor.can(Perm.CASES_ASSIGN) or _owns(actor, case)),
        "can_take": can_work and not _owns(actor, case) and (case.owner_id is None or actor.can(Perm.CASES_ASSIGN)),
        "is_active": case.is_active,
        "tasks": case_queries.tasks_of(actor, case),
        "links": case_queries.links_of(actor, case),
        "handovers": handover_queries.handovers_of(actor, case),
        "unread_handover": board_queries.unread_handover_of(actor, case),
        "edit_form": _edit_form(case, choices),
        "status_form": status_form,
        "resolve_form": ResolveForm(initial={"version": case.version}),
        "handover_form": HandoverForm(initial={"version": case.version}, users=users, teams=teams),
        "task_form": TaskForm(users=users),
        "link_form": LinkForm(),
        "merge_form": MergeForm(),
        "note_form": NoteForm(),
        "users": users,
        "sla_clocks": case_timeline.sla_clocks(actor, case),
        "promises": case_timeline.promises_context(request, actor, case),
        "follow_up": feedback_loops.case_panel_context(actor, case),
        "case_survey": feedback_surveys.case_panel_context(actor, case),
    }
    context.update(case_timeline.timeline_context(request, actor, case))
    context.update(bound)
    if context["handover_form"].is_bound or request.GET.get("handover"):
        context["handover_preview"] = handover_queries.build_handover_summary(case, note="", from_user=case.owner)
    return context


def render_case(request: HttpRequest, actor: Actor, case: Case, *, status: int = 200, **bound: Any) -> HttpResponse:
    return render(request, "web/cases/case.html", case_context(request, actor, case, **bound), status=status)


def failed(request: HttpRequest, actor: Actor, case: Case, name: str, form: forms.Form) -> HttpResponse:
    """The page again with `form` holding what the user typed: 409 when the case changed meanwhile, else 422."""
    fresh = case_queries.get_case(actor, case.public_id)
    status = 409 if getattr(form, "stale", False) else 422
    return render_case(request, actor, fresh, status=status, **{name: form})


@staff_view
@require_GET
def case_detail(request: HttpRequest, case_id: str) -> HttpResponse:
    actor = web_actor(request)
    case = case_queries.get_case(actor, case_id)
    return render_case(request, actor, case)


# --- case-level forms ----------------------------------------------------------------------------------
def _goal_and_category(actor: Actor, form: CaseEditForm) -> tuple[Any, Any]:
    choices = board_queries.case_choices(actor, queues=False, macros=False)
    goal = next((g for g in choices.goals if g.key == form.cleaned_data["goal"]), None)
    key = form.cleaned_data.get("category") or ""
    category = next((c for c in choices.categories if c.key == key), None)
    return goal, category


@staff_view
@require_POST
def case_edit(request: HttpRequest, case_id: str) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    case = case_queries.get_case(actor, case_id)
    choices = board_queries.case_choices(actor, queues=False, macros=False)
    form = _edit_form(case, choices, request.POST.copy())
    updated = None
    if form.is_valid():
        goal, category = _goal_and_category(actor, form)
        data = form.cleaned_data
        changes = CaseChanges(
            subject=data["subject"],
            description=data["description"],
            priority=data["priority"],
            goal=goal,
            category=category,
            clear_category=not data.get("category"),
        )
        updated = run(form, lambda: case_services.update_case(actor, case, changes, expected_version=data["version"]))
    if updated is None:
        return failed(request, actor, case, "edit_form", form)
    messages.success(request, "Case updated.")
    return back(updated)


@staff_view
@require_POST
def case_status(request: HttpRequest, case_id: str) -> HttpResponse:
    """Move the case along the state machine (not to resolved: that takes the outcome form)."""
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    case = case_queries.get_case(actor, case_id)
    form = StatusForm(request.POST.copy())
    form.fields["status"].choices = status_choices(case)  # type: ignore[attr-defined]
    updated = None
    if form.is_valid():
        data = form.cleaned_data
        updated = run(
            form,
            lambda: case_services.change_status(
                actor, case, data["status"], expected_version=data["version"], reason=data["reason"]
            ),
        )
    elif "status" in form.errors:
        allowed = ", ".join(label for _, label in status_choices(case)) or "none"
        form.errors["status"] = form.error_class([f"From {case.get_status_display()} the case may go to: {allowed}."])
    if updated is None:
        return failed(request, actor, case, "status_form", form)
    messages.success(request, f"Status: {updated.get_status_display()}.")
    return back(updated)


@staff_view
@require_POST
def case_resolve(request: HttpRequest, case_id: str) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    case = case_queries.get_case(actor, case_id)
    form = ResolveForm(request.POST.copy())
    updated = None
    if form.is_valid():
        data = form.cleaned_data
        updated = run(
            form,
            lambda: case_services.change_status(
                actor,
                case,
                CaseStatus.RESOLVED,
                expected_version=data["version"],
                goal_achieved=data["goal_achieved"],
                outcome=data["outcome"],
            ),
        )
    if updated is None:
        return failed(request, actor, case, "resolve_form", form)
    messages.success(request, "Case resolved.")
    return back(updated)


@staff_view
@require_POST
def case_reopen(request: HttpRequest, case_id: str) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    case = case_queries.get_case(actor, case_id)
    form = StatusForm(request.POST.copy())
    form.fields["status"].choices = [(CaseStatus.OPEN.value, "Open")]  # type: ignore[attr-defined]
    updated = None
    if form.is_valid():
        data = form.cleaned_data
        updated = run(
            form,
            lambda: case_services.change_status(
                actor, case, CaseStatus.OPEN, expected_version=data["version"], reason=data["reason"] or "reopened"
            ),
        )
    if updated is None:
        return failed(request, actor, case, "status_form", form)
    messages.success(request, "Case reopened.")
    return back(updated)


@staff_view
@require_POST
def case_handover(request: HttpRequest, case_id: str) -> HttpResponse:
    """Give the case to a person and/or team; moving it from its owner needs the note (the service says so)."""
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    case = case_queries.get_case(actor, case_id)
    users, teams = _people(actor)
    form = HandoverForm(request.POST.copy(), users=users, teams=teams)
    updated = None
    if form.is_valid():
        data = form.cleaned_data
        owner = inbox_queries.assignable_users(actor).filter(username=data["owner"]).first() if data["owner"] else None
        team = inbox_queries.teams(actor).filter(pk=data["team"]).first() if data["team"] else None
        updated = run(
            form,
            lambda: case_services.assign_case(
                actor, case, owner=owner, team=team, note=data["note"].strip(), expected_version=data["version"]
            ),
        )
    if updated is None:
        return failed(request, actor, case, "handover_form", form)
    who = updated.owner.display_name if updated.owner else (updated.team.name if updated.team else "nobody")
    messages.success(request, f"Case handed to {who}.")
    return back(updated)


@staff_view
@require_POST
def case_take(request: HttpRequest, case_id: str) -> HttpResponse:
    """ "Take it": the acting agent becomes the owner of an unassigned case (no note needed)."""
    actor = web_actor(request)
    case = case_queries.get_case(actor, case_id)
    form = StatusForm(request.POST.copy())
    form.fields["status"].required = False
    updated = None
    if form.is_valid():
        version = form.cleaned_data["version"]
        updated = run(form, lambda: case_services.assign_case(actor, case, owner=actor.user, expected_version=version))
    if updated is None:
        return failed(request, actor, case, "status_form", form)
    messages.success(request, "The case is yours.")
    return back(updated)


def _handover(actor: Actor, case: Case, handover_id: int) -> Handover:
    handover = board_queries.get_handover(actor, case, handover_id)
    if handover is None:
        raise NotFoundError("No such hand-over of this case.")
    if actor.user is None or handover.to_user_id != actor.user.pk:
        raise PermissionDeniedError("Only the receiver of a hand-over acknowledges it.")
    return handover


@staff_view
@require_POST
def handover_ack(request: HttpRequest, case_id: str, handover_id: int) -> HttpResponse:
    """ "I've read it": the receiver has taken in the summary, so the banner stops showing."""
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    case = case_queries.get_case(actor, case_id)
    case_services.acknowledge_handover(actor, _handover(actor, case, handover_id))
    messages.success(request, "Hand-over acknowledged.")
    return back(case)
