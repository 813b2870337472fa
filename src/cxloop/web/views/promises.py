"""Promises in the staff UI: the "Promises" panel of the customer page and of the case page (open promises, missed
ones highlighted, a form to make one, keep / cancel / reschedule buttons, and the customer's "what we promised
you" link to copy), and the views behind their forms.

Each action answers by going back to the page it came from (`next`, checked to be a path of this site), with a
message. A form the service refuses (no due time, one in the past...) is shown again on its own page with the
reasons beside the fields and what was typed kept (422).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cxloop.accounts.models import User
from cxloop.cases.models import Case, Promise
from cxloop.cases.queries import cases as case_queries
from cxloop.cases.queries import promises as promise_queries
from cxloop.cases.services import promises as promise_services
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.interactions import inbox as inbox_queries
from cxloop.interactions.models import Channel
from cxloop.web.actor import web_actor
from cxloop.web.forms import FastWidgetsMixin, attempt
from cxloop.web.responses import partial_or_page, staff_view

CUSTOMER_PANEL_TEMPLATE = "web/promises/customer_panel.html"
CASE_PANEL_TEMPLATE = "web/promises/case_panel.html"
FORM_TEMPLATE = "web/promises/_form.html"
LINK_TEMPLATE = "web/promises/_link.html"
PANEL_ORDER = 15  # right after the customer's cases
_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
_PROMISE_CHANNELS = [("", "Not said"), *((c.value, c.label) for c in Channel if c.value not in ("survey", "event"))]


def _due_field(label: str) -> forms.DateTimeField:
    # Not required here: the service refuses a promise without a due time, with the one wording for UI and API.
    return forms.DateTimeField(
        required=False,
        input_formats=_DATETIME_FORMATS,
        label=label,
        help_text="Your local time.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class PromiseForm(FastWidgetsMixin, forms.Form):
    description = forms.CharField(
        max_length=500,
        required=False,
        label="What was promised",
        help_text="In the customer's words, e.g. “Call back on Friday about the refund”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    due_at = _due_field("Due by")
    channel = forms.ChoiceField(choices=_PROMISE_CHANNELS, required=False, label="Promised on")
    owner = forms.ChoiceField(choices=[], required=False, label="Owner")
    case = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, users: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "promise-%s")
        super().__init__(*args, **kwargs)
        if users:
            self.fields["owner"].choices = [("", "Me"), *users]  # type: ignore[attr-defined]
        else:
            del self.fields["owner"]


class RescheduleForm(FastWidgetsMixin, forms.Form):
    due_at = _due_field("New due time")
    reason = forms.CharField(max_length=500, required=False, label="Why it moves")


def _users(actor: Actor) -> list[tuple[str, str]] | None:
    """Owners to choose from, for those who may give a promise to someone else (CASES_ASSIGN)."""
    if not actor.can(Perm.CASES_ASSIGN) or not actor.can(Perm.INTERACTIONS_VIEW):
        return None
    return [(u.username, u.display_name) for u in inbox_queries.assignable_users(actor)]


def _form(actor: Actor, *, case: Case | None = None, data: Any = None) -> PromiseForm:
    return PromiseForm(data, users=_users(actor), initial={"case": case.public_id if case is not None else ""})


# --- the panels -------------------------------------------------------------------------------------------------


def customer_panel_context(actor: Actor, customer: Customer) -> dict[str, Any] | None:
    """The customer page's panel; None (no panel) for someone who may not read cases."""
    if not actor.can(Perm.CASES_VIEW):
        return None
    can_work = actor.can(Perm.CASES_WORK) and customer.is_active
    return {
        "promises": promise_queries.customer_promises(actor, customer),
        "kept": promise_queries.recently_kept(actor, customer)[:5],
        "promise_form": _form(actor) if can_work else None,
        "can_work": can_work,
        "can_assign": actor.can(Perm.CASES_ASSIGN),
        "back": _customer_url(customer),
    }


def case_promises_context(request: HttpRequest, actor: Actor, case: Case) -> dict[str, Any]:
    """The case page's panel (the case page includes `template` with this as `panel`)."""
    can_work = actor.can(Perm.CASES_WORK) and case.status != "closed" and case.customer.is_active
    return {
        "template": CASE_PANEL_TEMPLATE,
        "items": promise_queries.case_promises(actor, case),
        "promise_form": _form(actor, case=case) if can_work else None,
        "can_work": actor.can(Perm.CASES_WORK),
        "can_assign": actor.can(Perm.CASES_ASSIGN),
        "back": _case_url(case) or _customer_url(case.customer),
        "customer": case.customer,
    }


# --- where to go back to ------------------------------------------------------------------------------------------


def _customer_url(customer: Customer) -> str:
    return reverse("web:customer", args=[customer.public_id]) + "#panel-promises"


def _case_url(case: Case) -> str:
    try:
        return reverse("web:case", args=[case.public_id]) + "#promises"
    except NoReverseMatch:  # the case page is not mounted
        return ""


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if (
        target
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
        and target.startswith("/")
    ):
        return redirect(target)
    return redirect(default)


def _default_back(promise: Promise) -> str:
    return (_case_url(promise.case) if promise.case is not None else "") or _customer_url(promise.customer)


def _owner(actor: Actor, username: str) -> User | None:
    if not username:
        return None
    user = inbox_queries.assignable_users(actor).filter(username=username).first()
    if user is None:
        raise ValidationError("No such user.", fields={"owner": "unknown user"})
    return user


def _case(actor: Actor, public_id: str) -> Case | None:
    if not public_id:
        return None
    try:
        return case_queries.get_case(actor, public_id)
    except NotFoundError:
        raise ValidationError("No such case.", fields={"case": "unknown case"}) from None


# --- actions ------------------------------------------------------------------------------------------------------


@staff_view
@require_POST
def promise_new(request: HttpRequest, public_id: str) -> HttpResponse:
    """Make a promise to the customer (on a case when the form names one)."""
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    customer = customer_queries.get_customer(actor, public_id)
    form = _form(actor, data=request.POST)
    promise = None
    if form.is_valid():
        data = form.cleaned_data

        def make() -> Promise:
            return promise_services.make_promise(
                actor,
                customer=customer,
                description=data["description"],
                due_at=data["due_at"],
                owner=_owner(actor, data.get("owner", "")),
                channel=data["channel"],
                case=_case(actor, data["case"]),
            )

        promise = attempt(form, make)
    if promise is None:
        context = {"form": form, "customer": customer, "next": request.POST.get("next", "")}
        return partial_or_page(request, FORM_TEMPLATE, context, title="Make a promise", status=422)
    messages.success(request, f"Promise recorded: {promise.description}.")
    return _back(request, _default_back(promise))


def _promise(request: HttpRequest, promise_id: str) -> tuple[Actor, Promise]:
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    return actor, promise_queries.get_promise(actor, promise_id)


@staff_view
@require_POST
def promise_keep(request: HttpRequest, promise_id: str) -> HttpResponse:
    actor, promise = _promise(request, promise_id)
    kept = promise_services.keep_promise(actor, promise, request.POST.get("note", ""))
    messages.success(request, "Promise kept." if not kept.was_missed else "Promise kept (late).")
    return _back(request, _default_back(promise))


@staff_view
@require_POST
def promise_cancel(request: HttpRequest, promise_id: str) -> HttpResponse:
    actor, promise = _promise(request, promise_id)
    promise_services.cancel_promise(actor, promise, request.POST.get("reason", ""))
    messages.success(request, "Promise cancelled.")
    return _back(request, _default_back(promise))


@staff_view
@require_POST
def promise_reschedule(request: HttpRequest, promise_id: str) -> HttpResponse:
    actor, promise = _promise(request, promise_id)
    form = RescheduleForm(request.POST, auto_id=f"reschedule-{promise.public_id}-%s")
    moved = None
    if form.is_valid():
        data = form.cleaned_data
        moved = attempt(
            form, lambda: promise_services.reschedule_promise(actor, promise, data["due_at"], data["reason"])
        )
    if moved is None:
        context = {"form": form, "promise": promise, "next": request.POST.get("next", "")}
        return partial_or_page(request, "web/promises/_reschedule.html", context, title="Reschedule", status=422)
    messages.success(request, "Promise rescheduled.")
    return _back(request, _default_back(promise))


@staff_view
@require_GET
def promises_link(request: HttpRequest, public_id: str) -> HttpResponse:
    """The customer's signed "what we promised you" link, to copy into a message to them (logged)."""
    actor = web_actor(request)
    actor.require(Perm.CASES_WORK)
    customer = customer_queries.get_customer(actor, public_id)
    context = {"customer": customer, "promises_url": promise_services.promises_link(actor, customer)}
    return partial_or_page(request, LINK_TEMPLATE, context, title="The customer's promises link")
