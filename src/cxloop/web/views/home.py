"""The dashboard, the global type-ahead search and the health check."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from cxloop.core import clock
from cxloop.core.permissions import Perm
from cxloop.customers import queries as customer_queries
from cxloop.interactions import queries as interaction_queries
from cxloop.privacy import queries as privacy_queries
from cxloop.web.actor import web_actor
from cxloop.web.responses import staff_view

SEARCH_LIMIT = 8
RECENT_AUDIT = 8


@staff_view
def home(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    since = clock.now() - timedelta(days=30)
    context = {
        "customer_count": customer_queries.search_customers(actor).count(),
        "interaction_count": interaction_queries.count_interactions(actor, since=since),
        "recent_audit": (
            list(privacy_queries.search_audit(actor)[:RECENT_AUDIT]) if actor.can(Perm.AUDIT_VIEW) else None
        ),
    }
    return render(request, "web/home.html", context)


@staff_view
def search(request: HttpRequest) -> HttpResponse:
    """Up to eight customers matching a name fragment, an email or a phone number, for the top bar."""
    q = request.GET.get("q", "").strip()[:200]
    results = []
    if q:
        qs = customer_queries.search_customers(web_actor(request), q=q).order_by("search_name", "id")
        results = list(qs[:SEARCH_LIMIT])
    return render(request, "web/search/_results.html", {"q": q, "results": results})


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
