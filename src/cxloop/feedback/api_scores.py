"""/api/v1/feedback/scores, /feedback/verbatims and /feedback/drivers: the analytics behind the Feedback pages,
for dashboards and BI tools. Read-only; each needs feedback.view. Bad filters answer 422 naming the field."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from cxloop.api.auth import actor_of
from cxloop.core.permissions import Perm
from cxloop.feedback.queries import drivers as driver_queries
from cxloop.feedback.queries import scores as score_queries
from cxloop.feedback.queries import verbatims as verbatim_queries
from cxloop.feedback.score_schemas import (
    DriverFilter,
    DriverReportOut,
    ScoreFilter,
    ScoreReportOut,
    VerbatimFilter,
    VerbatimOut,
    VerbatimPage,
)

router = Router(tags=["feedback analytics"])


@router.get("/feedback/scores", response=ScoreReportOut, summary="NPS, CSAT or CES with intervals and response rates")
def scores(request: HttpRequest, filters: Query[ScoreFilter]) -> ScoreReportOut:
    report = score_queries.scores(
        actor_of(request),
        score_queries.ScoreFilters(
            kind=filters.kind,
            group_by=filters.group_by,
            period=filters.period,
            start=filters.from_,
            end=filters.to,
            survey=filters.survey,
        ),
    )
    return ScoreReportOut.of(report)


@router.get("/feedback/verbatims", response=VerbatimPage, summary="Answers with their comment, newest first")
def verbatims(request: HttpRequest, filters: Query[VerbatimFilter]) -> VerbatimPage:
    actor = actor_of(request)
    page = verbatim_queries.list_verbatims(
        actor,
        verbatim_queries.VerbatimFilters(
            kind=filters.kind,
            survey=filters.survey,
            band=filters.band,
            sentiment=filters.sentiment,
            emotion=filters.emotion,
            text=filters.q,
            start=filters.from_,
            end=filters.to,
        ),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    show = actor.can(Perm.CUSTOMERS_VIEW)
    return VerbatimPage(items=[VerbatimOut.of(r, show_customer=show) for r in page.items], next_cursor=page.next_cursor)


@router.get("/feedback/drivers", response=DriverReportOut, summary="What goes with unhappy answers, by impact")
def drivers(request: HttpRequest, filters: Query[DriverFilter]) -> DriverReportOut:
    report = driver_queries.drivers(
        actor_of(request),
        driver_queries.DriverFilters(
            kind=filters.kind,
            survey=filters.survey,
            start=filters.from_,
            end=filters.to,
            min_mentions=filters.min_mentions,
        ),
    )
    return DriverReportOut.of(report)
