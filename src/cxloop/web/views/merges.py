"""Merging: reviewing suggestions, merging by hand from a customer page, and undoing a merge.

Every merge is confirmed on a side-by-side comparison of the two profiles; afterwards the merge page
links to the surviving profile and offers "Undo merge" to those allowed to merge.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, CxloopError, NotFoundError, PermissionDeniedError, ValidationError
from cxloop.core.pagination import paginate
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.interactions import queries as interaction_queries
from cxloop.web.actor import web_actor
from cxloop.web.responses import staff_view

SUGGESTIONS_PAGE = 25
CANDIDATES = 20


def _side(actor: Actor, customer: Customer) -> dict[str, Any]:
    counts = interaction_queries.channel_counts(actor, customer)
    return {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "tags": [t.name for t in customer.tags.all()],
        "channel_counts": sorted(counts.items()),
        "interaction_total": sum(counts.values()),
    }


def compare_context(actor: Actor, left: Customer, right: Customer) -> dict[str, Any]:
    """Both profiles, freshly read, with the attribute rows both sides share for the table."""
    left = customer_queries.get_customer(actor, left.public_id)
    right = customer_queries.get_customer(actor, right.public_id)
    labels = {d.key: d.label for d in customer_queries.attribute_definitions(actor)}
    keys = sorted(set(left.attributes) | set(right.attributes))
    left_side, right_side = _side(actor, left), _side(actor, right)
    return {
        "left": left_side,
        "right": right_side,
        "sides": [left_side, right_side],
        "attribute_rows": [(labels.get(k, k), left.attributes.get(k), right.attributes.get(k)) for k in keys],
        "fields": [
            ("Name", left.display_name, right.display_name),
            ("Country", left.country, right.country),
            ("Locale", left.locale, right.locale),
            ("Time zone", left.time_zone, right.time_zone),
            ("Stage", left.get_lifecycle_stage_display(), right.get_lifecycle_stage_display()),
        ],
    }


def _flash_error(request: HttpRequest, exc: CxloopError) -> None:
    messages.error(request, exc.message)


# --- suggestions -----------------------------------------------------------------------------
@staff_view
@require_GET
def suggestion_list(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    qs = customer_queries.pending_suggestions(actor)
    page = paginate(qs, ("-probability", "-id"), request.GET.get("cursor") or None, SUGGESTIONS_PAGE)
    return render(request, "web/merges/suggestions.html", {"page": page})


@staff_view
@require_GET
def suggestion_detail(request: HttpRequest, suggestion_id: str) -> HttpResponse:
    actor = web_actor(request)
    suggestion = customer_queries.get_suggestion(actor, suggestion_id)
    context = {"suggestion": suggestion, **compare_context(actor, suggestion.customer_a, suggestion.customer_b)}
    return render(request, "web/merges/suggestion.html", context)


@staff_view
@require_POST
def suggestion_accept(request: HttpRequest, suggestion_id: str) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CUSTOMERS_MERGE)
    suggestion = customer_queries.get_suggestion(actor, suggestion_id)
    keep = request.POST.get("keep")
    sides = {"left": suggestion.customer_a, "right": suggestion.customer_b}
    if keep not in sides:
        raise ValidationError("Choose which profile to keep.", fields={"keep": "left or right"})
    try:
        merge = customer_services.accept_suggestion(actor, suggestion, keep=sides[keep])
    except ConflictError as exc:
        _flash_error(request, exc)
        return redirect("web:suggestion", suggestion_id=suggestion_id)
    messages.success(request, f"Merged {merge.source.display_name} into {merge.target.display_name}.")
    return redirect("web:merge", merge_id=merge.public_id)


@staff_view
@require_POST
def suggestion_dismiss(request: HttpRequest, suggestion_id: str) -> HttpResponse:
    actor = web_actor(request)
    suggestion = customer_queries.get_suggestion(actor, suggestion_id)
    try:
        customer_services.dismiss_suggestion(actor, suggestion)
    except ConflictError as exc:
        _flash_error(request, exc)
        return redirect("web:suggestion", suggestion_id=suggestion_id)
    messages.success(
        request, f"Kept {suggestion.customer_a.display_name} and {suggestion.customer_b.display_name} apart."
    )
    return redirect("web:suggestions")


# --- merging by hand from a customer page ----------------------------------------------------
@staff_view
@require_GET
def merge_pick(request: HttpRequest, public_id: str) -> HttpResponse:
    """Find the customer to fold into this one."""
    actor = web_actor(request)
    actor.require(Perm.CUSTOMERS_MERGE)
    customer = customer_queries.get_customer(actor, public_id)
    q = request.GET.get("q", "").strip()[:200]
    candidates: list[Customer] = []
    if q:
        qs = customer_queries.search_customers(actor, q=q).exclude(pk=customer.pk).order_by("-id")
        candidates = list(qs[:CANDIDATES])
    return render(request, "web/merges/pick.html", {"customer": customer, "q": q, "candidates": candidates})


@staff_view
@require_http_methods(["GET", "POST"])
def merge_compare(request: HttpRequest, public_id: str, other_id: str) -> HttpResponse:
    """Left is the customer whose page we came from, right the one found; either may survive."""
    actor = web_actor(request)
    actor.require(Perm.CUSTOMERS_MERGE)
    left = customer_queries.get_customer(actor, public_id)
    right = customer_queries.get_customer(actor, other_id)
    if request.method == "POST":
        keep = request.POST.get("keep")
        if keep not in ("left", "right"):
            raise ValidationError("Choose which profile to keep.", fields={"keep": "left or right"})
        target, source = (left, right) if keep == "left" else (right, left)
        try:
            merge = customer_services.merge_customers(actor, target, source, reason="merged by staff")
        except (PermissionDeniedError, NotFoundError):
            raise
        except CxloopError as exc:
            _flash_error(request, exc)
            return redirect("web:customer-merge-compare", public_id=public_id, other_id=other_id)
        messages.success(request, f"Merged {source.display_name} into {target.display_name}.")
        return redirect("web:merge", merge_id=merge.public_id)
    return render(request, "web/merges/compare.html", {"customer": left, **compare_context(actor, left, right)})


# --- a performed merge, and undoing it --------------------------------------------------------
@staff_view
@require_GET
def merge_detail(request: HttpRequest, merge_id: str) -> HttpResponse:
    merge = customer_queries.get_merge(web_actor(request), merge_id)
    moved = {kind: len(ids) for kind, ids in merge.moved.items()}
    return render(request, "web/merges/detail.html", {"merge": merge, "moved": moved})


@staff_view
@require_POST
def merge_undo(request: HttpRequest, merge_id: str) -> HttpResponse:
    actor = web_actor(request)
    merge = customer_queries.get_merge(actor, merge_id)
    try:
        customer_services.unmerge(actor, merge, reason="undone from the staff UI")
    except ConflictError as exc:
        _flash_error(request, exc)
    else:
        messages.success(
            request, f"Merge undone: {merge.source.display_name} and {merge.target.display_name} are separate again."
        )
    return redirect("web:merge", merge_id=merge_id)
