"""NPS, CSAT and CES by the standard definitions, with their confidence intervals and response rates, overall
or grouped by segment, channel, team, goal, survey or period (day, week, month in the business's time zone).

The scores come from ONE aggregate query: a conditional count per scale value (`COUNT(*) FILTER (WHERE score
= v)` on PostgreSQL, `COUNT(CASE …)` on SQLite) per group. Everything else (promoters, the mean, the standard
deviation, the intervals, the total over all groups) is arithmetic on those counts, so the numbers are exact
and the query stays one scan however the page slices them. Response rates are a second small aggregate over
the invitations.

Definitions (docs/feedback.md, "Scores"):
- NPS = % promoters (9–10) − % detractors (0–6), −100..100. 95% interval: normal approximation with the
  variance of the variable that is +1 for a promoter, 0 for a passive and −1 for a detractor.
- CSAT = % of answers 4 or 5 on the 1–5 scale. 95% interval: Wilson score interval.
- CES = mean of the 1–7 answers. 95% interval: Student's t with the sample standard deviation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Trunc

from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.feedback.models import Invitation, Response, Survey

SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
KINDS = tuple(SCALES)
PERIODS = ("day", "week", "month")
GROUPINGS = ("", "segment", "channel", "team", "goal", "survey", "period")
Z95 = 1.959963984540054
# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom; beyond, a Cornish-Fisher expansion
# around the normal quantile is exact to 1e-4 (no SciPy needed for one number).
_T95 = (
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
    2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
    2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
)  # fmt: skip
# The grouping's columns: its key, then (optionally) its display label.
_GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "segment": ("segment",),
    "channel": ("channel",),
    "team": ("team_id", "team__name"),
    "goal": ("goal_key",),
    "survey": ("survey__key", "survey__name"),
}
_EMPTY_LABEL = {"segment": "No segment", "channel": "No channel", "team": "No team", "goal": "No goal"}


def t95(degrees_of_freedom: int) -> float:
    """The two-sided 95% quantile of Student's t."""
    if degrees_of_freedom < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if degrees_of_freedom <= len(_T95):
        return _T95[degrees_of_freedom - 1]
    z, v = Z95, float(degrees_of_freedom)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
    )


@dataclass(frozen=True)
class Stats:
    """One score with its 95% interval; None where there are no answers (or, for CES, one answer: no spread)."""

    value: float | None
    low: float | None
    high: float | None


def nps_stats(promoters: int, passives: int, detractors: int) -> Stats:
    n = promoters + passives + detractors
    if n == 0:
        return Stats(None, None, None)
    p, d = promoters / n, detractors / n
    nps = p - d
    variance = p + d - nps * nps  # of X ∈ {+1, 0, −1}
    half = Z95 * math.sqrt(max(variance, 0.0) / n)
    return Stats(100 * nps, 100 * max(nps - half, -1.0), 100 * min(nps + half, 1.0))


def wilson_stats(successes: int, n: int) -> Stats:
    if n == 0:
        return Stats(None, None, None)
    p, z2 = successes / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Stats(100 * p, 100 * max(centre - half, 0.0), 100 * min(centre + half, 1.0))


def mean_stats(counts: Mapping[int, int]) -> Stats:
    n = sum(counts.values())
    if n == 0:
        return Stats(None, None, None)
    total = sum(value * count for value, count in counts.items())
    mean = total / n
    if n == 1:
        return Stats(mean, None, None)
    squares = sum(value * value * count for value, count in counts.items())
    variance = (squares - total * total / n) / (n - 1)
    half = t95(n - 1) * math.sqrt(max(variance, 0.0) / n)
    return Stats(mean, mean - half, mean + half)


@dataclass(frozen=True)
class Score:
    """The score of one group (or of everything: key ""), from its count per scale value."""

    kind: str
    key: str
    label: str
    counts: dict[int, int]  # every value of the scale, zeros included

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def _sum(self, low: int, high: int) -> int:
        return sum(count for value, count in self.counts.items() if low <= value <= high)

    @property
    def promoters(self) -> int:
        return self._sum(9, 10) if self.kind == "nps" else 0

    @property
    def passives(self) -> int:
        return self._sum(7, 8) if self.kind == "nps" else 0

    @property
    def detractors(self) -> int:
        return self._sum(0, 6) if self.kind == "nps" else 0

    @property
    def satisfied(self) -> int:
        """CSAT's 4s and 5s."""
        return self._sum(4, 5) if self.kind == "csat" else 0

    @property
    def stats(self) -> Stats:
        if self.kind == "nps":
            return nps_stats(self.promoters, self.passives, self.detractors)
        if self.kind == "csat":
            return wilson_stats(self.satisfied, self.n)
        return mean_stats(self.counts)


@dataclass(frozen=True)
class ResponseRate:
    """Invitations sent in the period and how many of them were answered (so far)."""

    key: str  # survey key ("" for all surveys)
    label: str
    sent: int
    answered: int

    @property
    def rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None


@dataclass(frozen=True)
class ScoreFilters:
    kind: str = "nps"
    group_by: str = ""
    period: str = "month"  # the bucket when grouping by period
    start: date | None = None  # first day, in the business's time zone
    end: date | None = None  # last day (inclusive)
    survey: str = ""  # a survey key


@dataclass(frozen=True)
class ScoreReport:
    filters: ScoreFilters
    total: Score
    groups: list[Score]
    response_rate: ResponseRate
    response_rates: list[ResponseRate] = field(default_factory=list)  # per survey


def business_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_bounds(start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """[start 00:00, the day after end 00:00) in the business's time zone, as aware datetimes."""
    zone = business_zone()
    low = datetime.combine(start, time.min, tzinfo=zone) if start else None
    high = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone) if end else None
    return low, high


def check_filters(filters: ScoreFilters) -> None:
    errors: dict[str, str] = {}
    if filters.kind not in KINDS:
        errors["kind"] = f"must be one of {', '.join(KINDS)}"
    if filters.group_by not in GROUPINGS:
        errors["group_by"] = f"must be one of {', '.join(g for g in GROUPINGS if g)}, or empty"
    if filters.period not in PERIODS:
        errors["period"] = f"must be one of {', '.join(PERIODS)}"
    if filters.start and filters.end and filters.start > filters.end:
        errors["to"] = "must not be before from"
    if len(filters.survey) > 60:
        errors["survey"] = "at most 60 characters"
    if errors:
        raise ValidationError("Invalid score filter.", fields=errors)


def _responses(filters: ScoreFilters) -> QuerySet[Response]:
    low, high = day_bounds(filters.start, filters.end)
    qs = Response.objects.filter(kind=filters.kind, score__isnull=False)
    if low is not None:
        qs = qs.filter(submitted_at__gte=low)
    if high is not None:
        qs = qs.filter(submitted_at__lt=high)
    if filters.survey:
        qs = qs.filter(survey__key=filters.survey)
    return qs


def _value_counts(kind: str) -> dict[str, Count]:
    low, high = SCALES[kind]
    return {f"v{value}": Count("id", filter=Q(score=value)) for value in range(low, high + 1)}


def _counts_of(kind: str, row: Mapping[str, Any]) -> dict[int, int]:
    low, high = SCALES[kind]
    return {value: int(row[f"v{value}"]) for value in range(low, high + 1)}


def _group_key(group_by: str, row: Mapping[str, Any], period: str) -> tuple[str, str]:
    if group_by == "period":
        bucket = row["bucket"]
        day = bucket.astimezone(business_zone()).date() if isinstance(bucket, datetime) else bucket
        return day.isoformat(), period_label(day, period)
    columns = _GROUP_COLUMNS[group_by]
    raw = row[columns[0]]
    key = "" if raw is None else str(raw)
    label = (row[columns[1]] if len(columns) > 1 else key) or _EMPTY_LABEL.get(group_by, "(none)")
    return key, str(label)


def period_label(day: date, period: str) -> str:
    """Short enough for a chart's axis: "Jun 2025" for a month, "9 Jun" for a day or a week (its Monday)."""
    if period == "month":
        return day.strftime("%b %Y")
    return f"{day.day} {day.strftime('%b')}"


def merge(kind: str, scores: Iterable[Score], *, key: str = "", label: str = "All answers") -> Score:
    low, high = SCALES[kind]
    counts = dict.fromkeys(range(low, high + 1), 0)
    for score in scores:
        for value, count in score.counts.items():
            counts[value] += count
    return Score(kind, key, label, counts)


def _score_groups(filters: ScoreFilters) -> list[Score]:
    qs = _responses(filters)
    aggregates = _value_counts(filters.kind)
    if not filters.group_by:
        total = qs.aggregate(**aggregates)
        return [Score(filters.kind, "", "All answers", _counts_of(filters.kind, total))]
    if filters.group_by == "period":
        keyed = qs.annotate(bucket=Trunc("submitted_at", filters.period, tzinfo=business_zone()))
        rows: Iterable[Mapping[str, Any]] = keyed.values("bucket").annotate(**aggregates).order_by("bucket")
    else:
        columns = _GROUP_COLUMNS[filters.group_by]
        rows = qs.values(*columns).annotate(**aggregates).order_by(*columns)
    groups = []
    for row in rows:
        key, label = _group_key(filters.group_by, row, filters.period)
        groups.append(Score(filters.kind, key, label, _counts_of(filters.kind, row)))
    return groups


def _response_rates(filters: ScoreFilters) -> list[ResponseRate]:
    low, high = day_bounds(filters.start, filters.end)
    qs = Invitation.objects.filter(survey__kind=filters.kind, sent_at__isnull=False)
    if low is not None:
        qs = qs.filter(sent_at__gte=low)
    if high is not None:
        qs = qs.filter(sent_at__lt=high)
    if filters.survey:
        qs = qs.filter(survey__key=filters.survey)
    rows = (
        qs.values("survey__key", "survey__name")
        .annotate(sent=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False)))
        .order_by("survey__key")
    )
    return [ResponseRate(r["survey__key"], r["survey__name"], r["sent"], r["answered"]) for r in rows]


def scores(actor: Actor, filters: ScoreFilters) -> ScoreReport:
    """The score of `filters.kind` over the answers submitted in the period, overall and per group, with the
    response rate of the invitations sent in the same period (per survey and together)."""
    actor.require(Perm.FEEDBACK_VIEW)
    check_filters(filters)
    groups = _score_groups(filters)
    total = groups[0] if not filters.group_by else merge(filters.kind, groups)
    rates = _response_rates(filters)
    overall = ResponseRate("", "All surveys", sum(r.sent for r in rates), sum(r.answered for r in rates))
    return ScoreReport(
        filters=filters,
        total=total,
        groups=groups if filters.group_by else [],
        response_rate=overall,
        response_rates=rates,
    )


@dataclass(frozen=True)
class SurveyOption:
    key: str
    name: str
    kind: str


def survey_options(actor: Actor) -> list[SurveyOption]:
    """Every survey that is not a draft, for the analytics filters (archived ones still have answers)."""
    actor.require(Perm.FEEDBACK_VIEW)
    rows = Survey.objects.exclude(status="draft").order_by("name", "key").values_list("key", "name", "kind")
    return [SurveyOption(key, name, kind) for key, name, kind in rows]
