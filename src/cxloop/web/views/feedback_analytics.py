"""Feedback analytics: the scores dashboard (NPS, CSAT and CES trends, the NPS distribution, a breakdown),
the verbatims, and the driver analysis. Filters live in the URL (GET), so a view can be bookmarked and shared.

Charts are inline SVG from cxloop.web.charts: readable without JavaScript, each with a hidden data table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from cxloop.core import clock
from cxloop.core.errors import ValidationError
from cxloop.core.ids import whole_number
from cxloop.core.permissions import Perm
from cxloop.feedback.queries import drivers as driver_queries
from cxloop.feedback.queries import scores as score_queries
from cxloop.feedback.queries import verbatims as verbatim_queries
from cxloop.feedback.queries.scores import Score, ScoreFilters
from cxloop.textanalytics import EMOTIONS
from cxloop.web import charts
from cxloop.web.actor import web_actor
from cxloop.web.responses import staff_view

DEFAULT_DAYS = 182
BREAKDOWNS = (
    ("segment", "Segment"),
    ("channel", "Channel"),
    ("team", "Team"),
    ("goal", "Goal"),
    ("survey", "Survey"),
)
_PERIOD_WORDS = {"day": "day", "week": "week (starting on Monday)", "month": "month"}
KIND_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
BANDS = (
    ("detractor", "NPS detractors (0–6)"),
    ("passive", "NPS passives (7–8)"),
    ("promoter", "NPS promoters (9–10)"),
    ("low", "CSAT 1–3 / CES 1–3"),
    ("high", "CSAT 4–5 / CES 5–7"),
)


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    period: str
    survey: str


def _date(params: QueryDict, name: str, default: date | None) -> date | None:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError("Invalid date.", fields={name: "a date as YYYY-MM-DD"}) from None


def _period(params: QueryDict) -> Period:
    today = clock.now().astimezone(score_queries.business_zone()).date()
    start = _date(params, "from", today - timedelta(days=DEFAULT_DAYS)) or today
    end = _date(params, "to", today) or today
    period = params.get("period", "week")
    return Period(start, end, period, params.get("survey", "").strip())


def _points(report: score_queries.ScoreReport) -> list[charts.Point]:
    points = []
    for group in report.groups:
        stats = group.stats
        points.append(charts.Point(group.label, stats.value, stats.low, stats.high, f"n = {group.n}"))
    return points


def _trend(kind: str, report: score_queries.ScoreReport) -> SafeString:
    name = KIND_NAMES[kind]
    bounds = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}[kind]
    fmt = "{:.1f}" if kind == "ces" else "{:.0f}"
    total = report.total.stats
    summary = f"{report.total.n} answers in all"
    if total.value is not None:
        summary += f", {name} {fmt.format(total.value)} over the whole period"
    return charts.line_chart(
        _points(report),
        chart_id=f"trend-{kind}",
        title=f"{name} by {report.filters.period}",
        description=f"{name} per {_PERIOD_WORDS[report.filters.period]} with its 95% confidence interval as a band; "
        f"{summary}.",
        bounds=bounds,
        value_format=fmt,
        value_name=name,
    )


def _distribution(total: Score) -> SafeString:
    def band(value: int) -> tuple[str, str]:
        if value <= 6:
            return charts.DETRACTOR, "Detractors"
        return (charts.PASSIVE, "Passives") if value <= 8 else (charts.PROMOTER, "Promoters")

    bars = [charts.Bar(str(value), count, *band(value)) for value, count in sorted(total.counts.items())]
    legend = charts.Legend(
        [(charts.DETRACTOR, "Detractors 0–6"), (charts.PASSIVE, "Passives 7–8"), (charts.PROMOTER, "Promoters 9–10")]
    )
    return charts.bar_chart(
        bars,
        chart_id="nps-distribution",
        title="NPS answers by score",
        description=(
            f"{total.n} answers: {total.detractors} detractors (0 to 6), {total.passives} passives (7 and 8), "
            f"{total.promoters} promoters (9 and 10)."
        ),
        legend=legend,
    )


def _segments(score: Score) -> list[charts.Segment]:
    counts = score.counts
    if score.kind == "nps":
        return [
            charts.Segment("Detractors", score.detractors, charts.DETRACTOR),
            charts.Segment("Passives", score.passives, charts.PASSIVE),
            charts.Segment("Promoters", score.promoters, charts.PROMOTER),
        ]
    if score.kind == "csat":
        return [
            charts.Segment("1–3", sum(counts[v] for v in (1, 2, 3)), charts.DETRACTOR),
            charts.Segment("4–5", score.satisfied, charts.PROMOTER),
        ]
    return [
        charts.Segment("1–3 (hard)", sum(counts[v] for v in (1, 2, 3)), charts.DETRACTOR),
        charts.Segment("4", counts[4], charts.PASSIVE),
        charts.Segment("5–7 (easy)", sum(counts[v] for v in (5, 6, 7)), charts.PROMOTER),
    ]


def _breakdown(report: score_queries.ScoreReport, by_label: str) -> SafeString:
    kind = report.filters.kind
    rows = [charts.StackRow(g.label, _segments(g), f"n = {g.n}") for g in report.groups]
    first = rows[0].segments if rows else _segments(report.total)
    return charts.stacked_bars(
        rows,
        chart_id="breakdown",
        title=f"{KIND_NAMES[kind]} answers by {by_label.lower()}",
        description=f"Share of each answer band per {by_label.lower()}, {len(rows)} groups.",
        legend=charts.Legend([(s.colour, s.name) for s in first]),
    )


@staff_view
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.FEEDBACK_VIEW)
    chosen = _period(request.GET)
    by = request.GET.get("by", "segment")
    kind = request.GET.get("kind", "nps")
    if by not in dict(BREAKDOWNS):
        raise ValidationError("Unknown breakdown.", fields={"by": ", ".join(dict(BREAKDOWNS))})
    base: dict[str, Any] = {"start": chosen.start, "end": chosen.end, "survey": chosen.survey}
    trends = {k: score_queries.scores(actor, ScoreFilters(kind=k, group_by="period", period=chosen.period, **base))
              for k in ("nps", "csat", "ces")}  # fmt: skip
    breakdown = score_queries.scores(actor, ScoreFilters(kind=kind, group_by=by, **base))
    context = {
        "feedback_tab": "dashboard",
        "chosen": chosen,
        "by": by,
        "kind": kind,
        "trends": trends,
        "cards": [(KIND_NAMES[k], k, trends[k]) for k in ("nps", "csat", "ces")],
        "charts": {
            "nps": _trend("nps", trends["nps"]),
            "csat": _trend("csat", trends["csat"]),
            "ces": _trend("ces", trends["ces"]),
            "distribution": _distribution(trends["nps"].total),
            "breakdown": _breakdown(breakdown, dict(BREAKDOWNS)[by]),
        },
        "breakdown": breakdown,
        "breakdowns": BREAKDOWNS,
        "kind_name": KIND_NAMES[kind],
        "by_label": dict(BREAKDOWNS)[by],
        "kinds": KIND_NAMES,
        "periods": score_queries.PERIODS,
        "surveys": score_queries.survey_options(actor),
    }
    return render(request, "web/feedback/dashboard.html", context)


@staff_view
@require_GET
def verbatims(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.FEEDBACK_VIEW)
    params = request.GET
    filters = verbatim_queries.VerbatimFilters(
        kind=params.get("kind", ""),
        survey=params.get("survey", "").strip(),
        band=params.get("band", ""),
        sentiment=params.get("sentiment", ""),
        emotion=params.get("emotion", ""),
        text=params.get("q", ""),
        start=_date(params, "from", None),
        end=_date(params, "to", None),
    )
    page = verbatim_queries.list_verbatims(actor, filters, cursor=params.get("cursor") or None, limit=25)
    query = params.copy()
    query.pop("cursor", None)
    context = {
        "feedback_tab": "verbatims",
        "filters": filters,
        "page": page,
        "rows": [(r, verbatim_queries.band_of(r.kind, r.score)) for r in page.items],
        "next_query": _with(query, cursor=page.next_cursor) if page.next_cursor else "",
        "first_query": query.urlencode(),
        "is_later_page": bool(params.get("cursor")),
        "surveys": score_queries.survey_options(actor),
        "bands": BANDS,
        "kinds": KIND_NAMES,
        "sentiments": verbatim_queries.SENTIMENTS,
        "emotions": EMOTIONS,
        "can_see_customers": actor.can(Perm.CUSTOMERS_VIEW),
    }
    return render(request, "web/feedback/verbatims.html", context)


def _with(query: QueryDict, **values: str) -> str:
    copy = query.copy()
    for key, value in values.items():
        copy[key] = value
    return copy.urlencode()


@staff_view
@require_GET
def drivers(request: HttpRequest) -> HttpResponse:
    actor = web_actor(request)
    actor.require(Perm.FEEDBACK_VIEW)
    chosen = _period(request.GET)
    kind = request.GET.get("kind", "nps")
    raw_min = request.GET.get("min", str(driver_queries.DEFAULT_MIN_MENTIONS))
    min_mentions = whole_number(raw_min)
    if min_mentions is None:
        raise ValidationError("Invalid minimum.", fields={"min": "a whole number"})
    filters = driver_queries.DriverFilters(
        kind=kind, survey=chosen.survey, start=chosen.start, end=chosen.end, min_mentions=min_mentions
    )
    report = driver_queries.drivers(actor, filters)
    context = {
        "feedback_tab": "drivers",
        "chosen": chosen,
        "kind": kind,
        "kinds": KIND_NAMES,
        "report": report,
        "hurting": [d for d in report.drivers if d.impact < 0],
        "helping": sorted((d for d in report.drivers if d.impact > 0), key=lambda d: -d.impact),
        "unit": "points" if kind != "ces" else "",
        "surveys": score_queries.survey_options(actor),
        "verbatim_band": {"nps": "detractor", "csat": "low", "ces": "low"}[kind] if kind in KIND_NAMES else "",
    }
    return render(request, "web/feedback/drivers.html", context)
