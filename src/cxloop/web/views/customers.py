"""Customer list, creation, the customer page, and deletion."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cxloop.core.errors import ValidationError
from cxloop.core.pagination import paginate
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers import services as customer_services
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.interactions import queries as interaction_queries
from cxloop.privacy import queries as privacy_queries
from cxloop.web.actor import web_actor
from cxloop.web.forms import (
    AttributesForm,
    CustomerCreateForm,
    CustomerFilterForm,
    IdentityForm,
    InteractionForm,
    TimelineFilterForm,
    attempt,
)
from cxloop.web.panels import render_customer_panels
from cxloop.web.responses import staff_view
from cxloop.web.views.timeline import DRAFT_SESSION_KEY, draft_key, timeline_context

PAGE_SIZE = 25
HISTORY_SIZE = 10


@staff_view
def customer_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    definitions = list(customer_queries.attribute_definitions(actor))
    form = CustomerFilterForm(request.GET or None, definitions=definitions)
    page, error = None, None
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        try:
            qs = customer_queries.search_customers(
                actor,
                q=data.get("q", ""),
                tag=data.get("tag", ""),
                lifecycle_stage=data.get("lifecycle_stage", ""),
                attributes=form.attributes() if request.GET else {},
            )
            page = paginate(qs, ("-id",), request.GET.get("cursor") or None, PAGE_SIZE)
        except ValidationError as exc:
            error = exc.message + "".join(f" {reason}." for reason in exc.fields.values())
    status = 422 if error or (request.GET and not form.is_valid()) else 200
    return render(
        request,
        "web/customers/list.html",
        {"form": form, "page": page, "error": error, "filtered": bool(request.GET)},
        status=status,
    )


def _create_input(form: CustomerCreateForm) -> tuple[CustomerInput, dict[str, str]]:
    """The service input, and where each identity's errors belong on the form."""
    data = form.cleaned_data
    identities: list[IdentityInput] = []
    aliases: dict[str, str] = {}
    for kind in ("email", "phone"):
        if data.get(kind):
            aliases[f"identities[{len(identities)}].value"] = kind
            identities.append(IdentityInput(kind=kind, value=data[kind], source="staff"))
    customer_input = CustomerInput(
        name=data.get("name", ""),
        country=data.get("country", ""),
        locale=data.get("locale", ""),
        time_zone=data.get("time_zone", ""),
        lifecycle_stage=data.get("lifecycle_stage") or "lead",
        identities=identities,
        source="staff",
    )
    return customer_input, aliases


@staff_view
@require_http_methods(["GET", "POST"])
def customer_new(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CUSTOMERS_EDIT)
    form = CustomerCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        customer_input, aliases = _create_input(form)
        customer = attempt(form, lambda: customer_services.create_customer(actor, customer_input), aliases)
        if customer is not None:
            messages.success(request, f"Created {customer.display_name}.")
            return redirect("web:customer", public_id=customer.public_id)
    status = 422 if request.method == "POST" else 200
    return render(request, "web/customers/new.html", {"form": form}, status=status)


def customer_page_context(request: HttpRequest, public_id: str) -> dict[str, Any]:
    actor = web_actor(request)
    customer = customer_queries.get_customer(actor, public_id)
    definitions = list(customer_queries.attribute_definitions(actor))
    filters = TimelineFilterForm(request.GET).filters()
    cleared = request.session.pop(DRAFT_SESSION_KEY, None) if DRAFT_SESSION_KEY in request.session else None
    return {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "identity_form": IdentityForm(),
        "definitions": definitions,
        "attributes_form": AttributesForm(definitions=definitions, current=customer.attributes),
        "undefined_attributes": {k: v for k, v in customer.attributes.items() if k not in {d.key for d in definitions}},
        "log_form": InteractionForm(),
        "draft_key": draft_key(customer),
        "draft_clear": cleared == draft_key(customer),
        "merges": list(customer_queries.merges_of(actor, customer)[:20]),
        "panels": render_customer_panels(request, actor, customer),
        # Recorded interactions are on the timeline already; the history shows the other changes.
        "history": list(
            privacy_queries.history_of(actor, "customer", customer.public_id)
            .exclude(action="interaction.recorded")
            .order_by("-occurred_at", "-id")[:HISTORY_SIZE]
        ),
        **timeline_context(actor, customer, filters, request.GET.get("cursor") or None),
    }


@staff_view
def customer_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    return render(request, "web/customers/detail.html", customer_page_context(request, public_id))


@staff_view
@require_http_methods(["GET", "POST"])
def customer_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CUSTOMERS_DELETE)
    customer = customer_queries.get_customer(actor, public_id)
    if request.method == "POST":
        name = customer.display_name
        customer_services.delete_customer(actor, customer)
        messages.success(request, f"Deleted {name} ({public_id}).")
        return redirect(reverse("web:customers"))
    counts = interaction_queries.channel_counts(actor, customer)
    return render(
        request,
        "web/customers/delete.html",
        {"customer": customer, "interaction_total": sum(counts.values()), "identities": customer.identities.all()},
    )


@staff_view
@require_POST
def customer_export(request: HttpRequest, public_id: str) -> HttpResponse:
    """Download the customer's personal data as JSON (a POST with CSRF: it is recorded as an export)."""
    actor = web_actor(request)
    document = customer_services.export_customer(actor, customer_queries.get_customer(actor, public_id))
    response = JsonResponse(document, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="{public_id}.json"'
    return response
