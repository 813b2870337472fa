"""The supervisor board: who carries how much (open cases, conversations, capacity, availability), the cases
breaching or about to breach their SLA, missed promises (the escalations), unassigned work, today's
hand-overs, the promise-kept rate per agent and team, and the repeat-contact rate per category. Bars, not
tables, where a spread is the point.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cxloop.cases.queries import board as board_queries
from cxloop.cases.queries import promises as promise_queries
from cxloop.cases.queries import repeats as repeat_queries
from cxloop.cases.queries import routing as routing_queries
from cxloop.core import clock
from cxloop.core.permissions import Perm
from cxloop.web.actor import web_actor
from cxloop.web.responses import staff_view

REPEAT_DAYS = 30  # the period of the repeat-contact bars


@staff_view
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.CASES_SUPERVISE)
    now = clock.now()
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    period_start = now - timedelta(days=REPEAT_DAYS)
    workloads = routing_queries.workloads(actor)
    rates = repeat_queries.repeat_contact_rate(actor, since=now - timedelta(days=REPEAT_DAYS))
    context = {
        "counts": board_queries.board_counts(actor, since=start_of_day),
        "workloads": workloads,
        "max_load": max([w.capacity for w in workloads] + [w.load for w in workloads] + [1]),
        "alerts": board_queries.sla_alerts(actor),
        "missed": promise_queries.missed_promises(actor),
        "rates": rates,
        "max_contacts": max([r.contacts for r in rates] + [1]),
        "repeat_days": REPEAT_DAYS,
        "kept_by_agent": _settled(promise_queries.kept_rate(actor, by="owner", since=period_start)),
        "kept_by_team": _settled(promise_queries.kept_rate(actor, by="team", since=period_start)),
    }
    return render(request, "web/supervisor/board.html", context)


def _settled(rows: list[promise_queries.KeptRate]) -> list[dict[str, object]]:
    """Rows with something settled (kept or missed), as bar widths: kept on time, kept late, missed."""
    out: list[dict[str, object]] = []
    for row in rows:
        settled = row.kept_on_time + row.kept_late + row.missed
        if settled:
            out.append(
                {
                    "label": row.label or "(nobody)",
                    "on_time": round(100 * row.kept_on_time / settled),
                    "late": round(100 * row.kept_late / settled),
                    "missed": 100 - round(100 * row.kept_on_time / settled) - round(100 * row.kept_late / settled),
                    "row": row,
                }
            )
    return out
