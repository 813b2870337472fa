"""The customer's timeline (filters and "load more" through htmx) and logging an interaction."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cxloop.core.actor import Actor
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.interactions import queries as interaction_queries
from cxloop.interactions import services as interaction_services
from cxloop.interactions.types import InteractionInput
from cxloop.web.actor import web_actor
from cxloop.web.forms import InteractionForm, TimelineFilterForm, attempt
from cxloop.web.responses import is_htmx, partial_or_page, staff_view

TIMELINE_PAGE = 20
# The session remembers, across the redirect after a plain (non-htmx) submit, which draft to forget.
DRAFT_SESSION_KEY = "cx_draft_clear"


def draft_key(customer: Customer) -> str:
    return f"cx-draft:interaction:{customer.public_id}"


def timeline_context(actor: Actor, customer: Customer, filters: dict[str, str], cursor: str | None) -> dict[str, Any]:
    page = interaction_queries.timeline(
        actor,
        customer,
        channel=filters.get("channel", ""),
        direction=filters.get("direction", ""),
        text=filters.get("text", ""),
        cursor=cursor,
        limit=TIMELINE_PAGE,
    )
    active = {k: v for k, v in filters.items() if v}
    more_query = urlencode({**active, "cursor": page.next_cursor}) if page.next_cursor else ""
    return {
        "timeline": page,
        "timeline_filters": TimelineFilterForm(initial=filters),
        "timeline_filtered": bool(active),
        "more_url": reverse("web:customer-timeline", args=[customer.public_id]) + "?" + more_query,
        "more_page_url": reverse("web:customer", args=[customer.public_id]) + "?" + more_query + "#timeline",
    }


@staff_view
@require_GET
def timeline(request: HttpRequest, public_id: str) -> HttpResponse:
    """Timeline items for the filters in the query string, from `cursor` on (htmx); else the page."""
    if not is_htmx(request):
        query = request.GET.urlencode()
        return redirect(reverse("web:customer", args=[public_id]) + (f"?{query}" if query else "") + "#timeline")
    actor = web_actor(request)
    customer = customer_queries.get_customer(actor, public_id)
    filters = TimelineFilterForm(request.GET).filters()
    context = {"customer": customer, **timeline_context(actor, customer, filters, request.GET.get("cursor") or None)}
    return render(request, "web/customers/_timeline_items.html", context)


@staff_view
@require_POST
def log_interaction(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = web_actor(request)
    customer = customer_queries.get_customer(actor, public_id)
    form = InteractionForm(request.POST)
    recorded = None
    if form.is_valid():
        data = form.cleaned_data
        recorded = attempt(
            form,
            lambda: interaction_services.record_interaction(
                actor,
                customer,
                InteractionInput(
                    channel=data["channel"],
                    direction=data["direction"],
                    summary=data["summary"],
                    body=data["body"],
                ),
            ),
        )
    key = draft_key(customer)
    if recorded is None:
        context = {"customer": customer, "log_form": form, "draft_key": key}
        return partial_or_page(request, "web/customers/_log_form.html", context, title="Log an interaction", status=422)
    if not is_htmx(request):
        request.session[DRAFT_SESSION_KEY] = key
        return redirect(reverse("web:customer", args=[public_id]) + "#timeline")
    context = {
        "customer": customer,
        "log_form": InteractionForm(),
        "draft_key": key,
        "draft_clear": True,
        "just_logged": recorded,
        "refresh_timeline": True,
        **timeline_context(actor, customer, {"channel": "", "direction": "", "text": ""}, None),
    }
    return render(request, "web/customers/_log_form.html", context)
