"""The cards of the customer page that edit in place: profile, identities and custom attributes.

Each card is its own template. With htmx a card posts to its URL and the answer replaces the card
(the card again, or the form with its errors and status 422); without JavaScript the same URLs answer
with a redirect back to the customer page, or a page holding just the form with its errors.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.customers.types import IdentityInput
from cxloop.web.actor import web_actor
from cxloop.web.forms import AttributesForm, IdentityForm, ProfileForm, attempt
from cxloop.web.responses import is_htmx, partial_or_page, staff_view


def _back(request: HttpRequest, customer: Customer, anchor: str, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(reverse("web:customer", args=[customer.public_id]) + f"#{anchor}")


def _profile_initial(customer: Customer) -> dict[str, Any]:
    return {
        "name": customer.name,
        "country": customer.country,
        "locale": customer.locale,
        "time_zone": customer.time_zone,
        "lifecycle_stage": customer.lifecycle_stage,
        "tags": ", ".join(t.name for t in customer.tags.all()),
    }


@staff_view
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest, public_id: str) -> HttpResponse:
    """GET: the profile card (or its edit form with ?edit=1). POST: save the edit form."""
    actor = web_actor(request)
    customer = customer_queries.get_customer(actor, public_id)
    if request.method == "GET" and not request.GET.get("edit"):
        return partial_or_page(request, "web/customers/_profile.html", {"customer": customer}, title="Profile")
    actor.require(Perm.CUSTOMERS_EDIT)
    form = ProfileForm(request.POST if request.method == "POST" else None, initial=_profile_initial(customer))
    if request.method == "POST" and form.is_valid():
        form_valid = form
        updated = attempt(form, lambda: customer_services.update_customer(actor, customer, form_valid.changes()))
        if updated is not None:
            if not is_htmx(request):
                return _back(request, customer, "profile", "Profile saved.")
            fresh = customer_queries.get_customer(actor, public_id)
            return partial_or_page(request, "web/customers/_profile.html", {"customer": fresh}, title="Profile")
    status = 422 if request.method == "POST" else 200
    context = {"customer": customer, "profile_form": form}
    return partial_or_page(request, "web/customers/_profile_form.html", context, title="Edit profile", status=status)


def _identities_card(
    request: HttpRequest, actor: Actor, public_id: str, form: IdentityForm | None = None, status: int = 200
) -> HttpResponse:
    customer = customer_queries.get_customer(actor, public_id)
    context = {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "identity_form": form or IdentityForm(),
    }
    return partial_or_page(request, "web/customers/_identities.html", context, title="Identities", status=status)


@staff_view
@require_POST
def identity_add(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    customer = customer_queries.get_customer(actor, public_id)
    form = IdentityForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        identity = IdentityInput(
            kind=data["kind"],
            value=data["value"],
            network=data["network"] or None,
            is_verified=data["is_verified"],
            source="staff",
        )
        added = attempt(form, lambda: customer_services.add_identity(actor, customer, identity))
        if added is not None:
            if not is_htmx(request):
                return _back(request, customer, "identities", f"Added {added.kind} {added.value}.")
            return _identities_card(request, actor, public_id)
    return _identities_card(request, actor, public_id, form, status=422)


@staff_view
@require_POST
def identity_verify(request: HttpRequest, public_id: str, identity_id: str) -> HttpResponse:
    actor = web_actor(request)
    customer = customer_queries.get_customer(actor, public_id)
    identity = customer_queries.get_identity(actor, customer, identity_id)
    verified = request.POST.get("verified") == "true"
    customer_services.set_identity_verified(actor, identity, verified)
    if not is_htmx(request):
        state = "verified" if verified else "not verified"
        return _back(request, customer, "identities", f"Marked {identity.value} as {state}.")
    return _identities_card(request, actor, public_id)


@staff_view
@require_POST
def identity_remove(request: HttpRequest, public_id: str, identity_id: str) -> HttpResponse:
    actor = web_actor(request)
    customer = customer_queries.get_customer(actor, public_id)
    identity = customer_queries.get_identity(actor, customer, identity_id)
    value = identity.value
    customer_services.remove_identity(actor, identity)
    if not is_htmx(request):
        return _back(request, customer, "identities", f"Removed {value}.")
    return _identities_card(request, actor, public_id)


def _attributes_context(actor: Actor, customer: Customer, form: AttributesForm | None = None) -> dict[str, Any]:
    definitions = list(customer_queries.attribute_definitions(actor))
    keys = {d.key for d in definitions}
    return {
        "customer": customer,
        "definitions": definitions,
        "undefined_attributes": {k: v for k, v in customer.attributes.items() if k not in keys},
        "attributes_form": form or AttributesForm(definitions=definitions, current=customer.attributes),
    }


@staff_view
@require_http_methods(["GET", "POST"])
def attributes(request: HttpRequest, public_id: str) -> HttpResponse:
    """GET: the attributes card (or its edit form with ?edit=1). POST: save the values."""
    actor = web_actor(request)
    customer = customer_queries.get_customer(actor, public_id)
    if request.method == "GET" and not request.GET.get("edit"):
        context = _attributes_context(actor, customer)
        return partial_or_page(request, "web/customers/_attributes.html", context, title="Attributes")
    actor.require(Perm.CUSTOMERS_EDIT)
    definitions = list(customer_queries.attribute_definitions(actor))
    form = AttributesForm(
        request.POST if request.method == "POST" else None, definitions=definitions, current=customer.attributes
    )
    if request.method == "POST" and form.is_valid():
        changes = {"attributes": form.changes()}
        updated = attempt(form, lambda: customer_services.update_customer(actor, customer, changes))
        if updated is not None:
            if not is_htmx(request):
                return _back(request, customer, "attributes", "Attributes saved.")
            context = _attributes_context(actor, updated)
            return partial_or_page(request, "web/customers/_attributes.html", context, title="Attributes")
    status = 422 if request.method == "POST" else 200
    context = _attributes_context(actor, customer, form)
    return partial_or_page(
        request, "web/customers/_attributes_form.html", context, title="Edit attributes", status=status
    )
