"""The "Calls" panel of the customer page: recent calls and a form to log one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cxloop.channels.phone import services
from cxloop.channels.phone.forms import CallForm
from cxloop.core.actor import Actor
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.interactions.models import Interaction
from cxloop.web.actor import web_actor
from cxloop.web.forms import attempt
from cxloop.web.responses import is_htmx, staff_view

RECENT = 5


def panel_context(actor: Actor, customer: Customer, form: CallForm | None = None) -> dict[str, Any] | None:
    if not actor.can(Perm.INTERACTIONS_VIEW):
        return None
    recent = Interaction.objects.filter(customer=customer, channel="phone").order_by("-occurred_at", "-id")[:RECENT]
    return {
        "calls": list(recent),
        "call_form": form or CallForm(),
        "can_log_calls": actor.can(Perm.INTERACTIONS_WRITE),
        "draft_key": f"cx-draft:call:{customer.public_id}",
    }


@staff_view
@require_POST
def log_call(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    customer = customer_queries.get_customer(actor, public_id)
    form = CallForm(request.POST)
    logged = None
    if form.is_valid():
        data = services.CallInput(
            direction=form.cleaned_data["direction"],
            outcome=form.cleaned_data["outcome"],
            duration_seconds=form.duration(),
            notes=form.cleaned_data["notes"],
            recording_url=form.cleaned_data["recording_url"] or "",
        )
        logged = attempt(
            form, lambda: services.log_call(actor, customer, data), aliases={"duration_seconds": "minutes"}
        )
    if logged is not None and not is_htmx(request):
        return redirect(reverse("web:customer", args=[public_id]) + "#panel-calls")
    context = panel_context(actor, customer, None if logged is not None else form) or {}
    context.update({"customer": customer, "just_logged": logged, "draft_clear": logged is not None})
    return render(request, "phone/panel.html", context, status=200 if logged is not None else 422)
