"""The case queues (mine, team, unassigned, breaching soon, promises due, all) with filters, cursor pages and
the bulk bar; opening a case (from the queues, the customer page or a conversation); the customer page's
"Cases" panel and the conversation page's case box.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cxloop.cases.models import CaseStatus
from cxloop.cases.queries import board as board_queries
from cxloop.cases.queries import cases as case_queries
from cxloop.cases.queries import promises as promise_queries
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import macros as macro_services
from cxloop.cases.services.cases import CaseInput
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.interactions import inbox as inbox_queries
from cxloop.interactions.models import Thread
from cxloop.web.actor import web_actor
from cxloop.web.forms import attempt
from cxloop.web.responses import is_htmx, staff_view
from cxloop.web.views.case_forms import BulkForm, CaseCreateForm, CaseFilterForm

QUEUE_PAGE = 25
TABS = (
    ("mine", "Mine"),
    ("team", "My team"),
    ("unassigned", "Unassigned"),
    ("breaching", "Breaching soon"),
    ("promises", "Promises due"),
    ("all", "All"),
)
_TAB_KEYS = {key for key, _ in TABS}


# --- the queues ----------------------------------------------------------------------------------------------
def _users(actor: Actor) -> list[tuple[str, str]]:
    return [(u.username, u.display_name) for u in inbox_queries.assignable_users(actor)]


def _filter_form(
    request: HttpRequest, choices: board_queries.CaseChoices, owners: list[tuple[str, str]]
) -> CaseFilterForm:
    return CaseFilterForm(
        request.GET or None,
        goals=[(g.key, g.name) for g in choices.goals],
        categories=[(c.key, c.name) for c in choices.categories],
        queues=[(q.pk, q.name) for q in choices.queues],
        owners=owners,
    )


def _promises_due(actor: Actor) -> tuple[list[Any], int]:
    """The promises due for the actor (overdue ones first), and their count."""
    due = promise_queries.promises_due(actor)
    return due, len(due)


def _queue_context(request: HttpRequest, actor: Actor, tab: str) -> tuple[dict[str, Any], int]:
    choices = board_queries.case_choices(actor)
    users = _users(actor)
    form = _filter_form(request, choices, users)
    page, error, promises = None, "", None
    if tab == "promises":
        promises, _ = _promises_due(actor)
    elif not request.GET or form.is_valid():
        filters = form.filters(tab) if request.GET else case_queries.CaseFilters(queue=tab)
        try:
            page = case_queries.list_cases(actor, filters, cursor=request.GET.get("cursor") or None, limit=QUEUE_PAGE)
        except ValidationError as exc:
            error = exc.message + "".join(f" {field}: {reason}." for field, reason in exc.fields.items())
    query = {k: v for k, v in request.GET.items() if k not in ("cursor", "tab") and v}
    base = reverse("web:cases")
    context = {
        "tab": tab,
        "tabs": TABS,
        "form": form,
        "page": page,
        "promises": promises,
        "error": error,
        "query": urlencode(query),
        "next_url": base + "?" + urlencode({"tab": tab, **query, "cursor": page.next_cursor})
        if page is not None and page.next_cursor
        else "",
        "bulk_form": _bulk_form(choices, users) if actor.can(Perm.CASES_WORK) else None,
        "return_to": request.get_full_path(),
    }
    failed = page is None and promises is None
    return context, 422 if failed else 200


def _bulk_form(choices: board_queries.CaseChoices, users: list[tuple[str, str]], data: Any = None) -> BulkForm:
    return BulkForm(data, users=users, macros=[(m.pk, m.name) for m in choices.macros])


@staff_view
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_VIEW)
    tab = request.GET.get("tab") or "mine"
    if tab not in _TAB_KEYS:
        raise ValidationError("Unknown queue.", fields={"tab": f"must be one of {', '.join(sorted(_TAB_KEYS))}"})
    context, status = _queue_context(request, actor, tab)
    if is_htmx(request) and request.headers.get("HX-Target") == "case-list":
        return render(request, "web/cases/_list.html", context, status=status)
    context["counts"] = case_queries.queue_counts(actor)
    context["promises_due"] = promise_queries.count_promises_due(actor)
    return render(request, "web/cases/list.html", context, status=status)


def _bulk_actions(form: BulkForm) -> list[dict[str, Any]]:
    data = form.cleaned_data
    action = data["action"]
    if action == "status":
        return [{"type": "set_status", "value": data["status"]}]
    if action == "priority":
        return [{"type": "set_priority", "value": data["priority"]}]
    return [{"type": "assign", "owner": data["owner"], "note": data["note"].strip()}]


def _safe_return(request: HttpRequest) -> str:
    target = request.POST.get("return_to", "")
    return target if target.startswith("/cases/") and not target.startswith("//") else reverse("web:cases")


@staff_view
@require_POST
def case_bulk(request: HttpRequest) -> HttpResponse:
    """One action (or a macro) on the ticked cases; each case succeeds or is reported on its own."""
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    choices = board_queries.case_choices(actor)
    form = _bulk_form(choices, _users(actor), request.POST)
    case_ids = [value for value in request.POST.getlist("case") if value][:200]
    if not case_ids:
        messages.error(request, "Tick at least one case first.")
        return redirect(_safe_return(request))
    if not form.is_valid():
        reasons = "; ".join(
            f"{form.fields[name].label if name in form.fields else name}: {' '.join(str(e) for e in errors)}"
            for name, errors in form.errors.items()
        )
        messages.error(request, f"Nothing changed. {reasons}")
        return redirect(_safe_return(request))
    if form.cleaned_data["action"] == "macro":
        macro = next((m for m in choices.macros if m.pk == form.cleaned_data["macro"]), None)
        if macro is None:
            raise NotFoundError("No such macro.")
        results = macro_services.apply_macro_by_ids(actor, macro, case_ids)
    else:
        results = macro_services.bulk_update(actor, case_ids, _bulk_actions(form))
    done = [r for r in results if r.ok]
    refused = [r for r in results if not r.ok]
    if done:
        messages.success(request, f"{len(done)} case{'s' if len(done) != 1 else ''} changed.")
    for result in refused[:10]:
        label = f"#{result.number}" if result.number else result.case_id
        messages.error(request, f"{label} not changed: {result.message}")
    return redirect(_safe_return(request))


# --- opening a case --------------------------------------------------------------------------------------------
def _create_form(actor: Actor, data: Any = None, *, quick: bool = False, **initial: Any) -> CaseCreateForm:
    """The "open a case" form; `quick` (the boxes on other pages) leaves goal and category to their defaults, so
    those pages do not read the configuration (the full form at /cases/new/ has them)."""
    if quick:
        form = CaseCreateForm(data, initial=initial)
        del form.fields["goal"], form.fields["category"]
        return form
    choices = board_queries.case_choices(actor, queues=False, macros=False)
    return CaseCreateForm(
        data,
        initial=initial,
        goals=[(g.key, g.name) for g in choices.goals],
        categories=[(c.key, c.name) for c in choices.categories],
    )


def _thread_of(actor: Actor, public_id: str) -> Thread | None:
    if not public_id:
        return None
    try:
        return inbox_queries.get_conversation(actor, public_id)
    except NotFoundError:
        return None


def _customer_of(actor: Actor, public_id: str) -> Customer | None:
    try:
        return customer_queries.get_customer(actor, public_id)
    except NotFoundError:
        return None


def _case_input(actor: Actor, form: CaseCreateForm) -> CaseInput | None:
    data = form.cleaned_data
    customer = _customer_of(actor, data["customer"].strip())
    if customer is None:
        form.add_error("customer", "No customer with that id.")
        return None
    thread = _thread_of(actor, data.get("conversation") or "")
    if data.get("conversation") and thread is None:
        form.add_error(None, "That conversation no longer exists.")
        return None
    choices = board_queries.case_choices(actor, queues=False, macros=False)
    return CaseInput(
        customer=customer,
        subject=data["subject"],
        description=data.get("description") or "",
        goal=next((g for g in choices.goals if g.key == data.get("goal")), None),
        category=next((c for c in choices.categories if c.key == data.get("category")), None),
        priority=data["priority"],
        owner=actor.user if data.get("take") else None,
        thread=thread,
        source_channel=thread.channel if thread is not None else "",
    )


@staff_view
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    if request.method == "GET":
        thread = _thread_of(actor, request.GET.get("conversation", ""))
        initial: dict[str, Any] = {
            "customer": request.GET.get("customer", "") or (thread.customer.public_id if thread else ""),
            "conversation": thread.public_id if thread else "",
            "subject": thread.subject if thread else "",
            "take": True,
        }
        return render(request, "web/cases/new.html", {"form": _create_form(actor, **initial), "thread": thread})
    form = _create_form(actor, request.POST)
    case = None
    if form.is_valid():
        data = _case_input(actor, form)
        if data is not None:
            case = attempt(form, lambda: case_services.open_case(actor, data))
    if case is None:
        thread = _thread_of(actor, request.POST.get("conversation", ""))
        return render(request, "web/cases/new.html", {"form": form, "thread": thread}, status=422)
    messages.success(request, f"Case #{case.pk} opened.")
    return redirect(reverse("web:case", args=[case.public_id]))


# --- boxes on other pages -----------------------------------------------------------------------------------------
def panel_context(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    """The customer page's "Cases" panel: their cases, newest first, and a short "open a case" form."""
    if not actor.can(Perm.CASES_VIEW):
        return None
    cases = case_queries.cases_of_customer(actor, customer.pk)
    can_open = actor.can(Perm.CASES_WORK) and customer.is_active
    form = _create_form(actor, quick=True, customer=customer.public_id, take=True) if can_open else None
    return {"cases": cases, "case_form": form, "active_statuses": [s for s in CaseStatus.values if s != "closed"]}


def conversation_case(actor: Actor, thread: Thread) -> dict[str, Any]:
    """The conversation page's case box: the case this conversation serves, or the form to open one from it."""
    if not actor.can(Perm.CASES_VIEW):
        return {}
    case = None
    if thread.case_ref:
        try:
            case = case_queries.get_case(actor, thread.case_ref)
        except NotFoundError:
            case = None
    form = None
    if case is None and actor.can(Perm.CASES_WORK) and thread.customer.is_active:
        form = _create_form(
            actor,
            quick=True,
            customer=thread.customer.public_id,
            conversation=thread.public_id,
            subject=thread.subject,
            take=True,
        )
    return {"linked_case": case, "case_form": form, "show_case_box": True}
