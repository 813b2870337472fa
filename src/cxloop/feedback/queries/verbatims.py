"""Verbatims: the customers' own words behind the scores, newest first, filterable by survey, score band,
sentiment, emotion, words and period, with cursor pagination (stable while answers keep arriving)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm
from cxloop.feedback.models import Response
from cxloop.feedback.queries.scores import KINDS, day_bounds
from cxloop.textanalytics import EMOTIONS

# Score bands: NPS's three, and "low"/"high" for CSAT (1–3 / 4–5) and CES (1–3 hard / 5–7 easy).
BANDS: dict[str, Q] = {
    "detractor": Q(kind="nps", score__lte=6),
    "passive": Q(kind="nps", score__gte=7, score__lte=8),
    "promoter": Q(kind="nps", score__gte=9),
    "low": Q(kind="csat", score__lte=3) | Q(kind="ces", score__lte=3),
    "high": Q(kind="csat", score__gte=4) | Q(kind="ces", score__gte=5),
}
SENTIMENTS = ("positive", "neutral", "negative")
ORDERING = ("-submitted_at", "-id")
MAX_SEARCH = 200


@dataclass(frozen=True)
class VerbatimFilters:
    kind: str = ""
    survey: str = ""  # survey key
    band: str = ""
    sentiment: str = ""
    emotion: str = ""
    text: str = ""
    start: date | None = None
    end: date | None = None
    with_comment: bool = True


def check_filters(filters: VerbatimFilters) -> None:
    errors: dict[str, str] = {}
    if filters.kind and filters.kind not in KINDS:
        errors["kind"] = f"must be one of {', '.join(KINDS)}"
    if filters.band and filters.band not in BANDS:
        errors["band"] = f"must be one of {', '.join(BANDS)}"
    if filters.sentiment and filters.sentiment not in SENTIMENTS:
        errors["sentiment"] = f"must be one of {', '.join(SENTIMENTS)}"
    if filters.emotion and filters.emotion not in EMOTIONS:
        errors["emotion"] = f"must be one of {', '.join(EMOTIONS)}"
    if len(filters.text) > MAX_SEARCH:
        errors["q"] = f"at most {MAX_SEARCH} characters"
    if len(filters.survey) > 60:
        errors["survey"] = "at most 60 characters"
    if filters.start and filters.end and filters.start > filters.end:
        errors["to"] = "must not be before from"
    if errors:
        raise ValidationError("Invalid verbatim filter.", fields=errors)


def _filtered(filters: VerbatimFilters) -> QuerySet[Response]:
    qs = Response.objects.select_related("customer", "survey")
    if filters.with_comment:
        qs = qs.exclude(comment="")
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.survey:
        qs = qs.filter(survey__key=filters.survey)
    if filters.band:
        qs = qs.filter(BANDS[filters.band])
    if filters.sentiment:
        qs = qs.filter(sentiment_label=filters.sentiment)
    if filters.emotion:
        qs = qs.filter(emotion=filters.emotion)
    if filters.text.strip():
        qs = qs.filter(comment__icontains=filters.text.strip())
    low, high = day_bounds(filters.start, filters.end)
    if low is not None:
        qs = qs.filter(submitted_at__gte=low)
    if high is not None:
        qs = qs.filter(submitted_at__lt=high)
    return qs


def list_verbatims(
    actor: Actor, filters: VerbatimFilters, *, cursor: str | None = None, limit: int = 25
) -> Page[Response]:
    actor.require(Perm.FEEDBACK_VIEW)
    check_filters(filters)
    return paginate(_filtered(filters), ORDERING, cursor, limit)


def band_of(kind: str, score: int | None) -> str:
    """The band a score falls in ("" when it is in none, such as CES 4 or a custom survey)."""
    if score is None:
        return ""
    if kind == "nps":
        return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"
    if kind == "csat":
        return "low" if score <= 3 else "high"
    if kind == "ces":
        return "low" if score <= 3 else "high" if score >= 5 else ""
    return ""
