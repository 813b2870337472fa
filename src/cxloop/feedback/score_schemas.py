"""Schemas of the feedback analytics API: /api/v1/feedback/scores, /feedback/verbatims, /feedback/drivers."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from cxloop.feedback.models import Response
from cxloop.feedback.queries.drivers import Driver, DriverReport
from cxloop.feedback.queries.scores import KINDS, PERIODS, ResponseRate, Score, ScoreReport
from cxloop.feedback.queries.verbatims import BANDS, SENTIMENTS, band_of


class ScoreFilter(Schema):
    model_config = ConfigDict(populate_by_name=True)

    kind: str = Field(default="nps", description=f"One of {', '.join(KINDS)}")
    group_by: str = Field(default="", description="segment, channel, team, goal, survey or period; empty for none")
    period: str = Field(default="month", description=f"The bucket when grouping by period: {', '.join(PERIODS)}")
    from_: date | None = Field(default=None, alias="from", description="First day, in the business's time zone")
    to: date | None = Field(default=None, description="Last day (inclusive), in the business's time zone")
    survey: str = Field(default="", max_length=60, description="A survey key")


class ScoreOut(Schema):
    key: str = Field(description="The group's value (a period's first day for period); empty for the total")
    label: str
    n: int
    score: float | None = Field(description="NPS −100..100, CSAT % of 4–5, or CES mean; null without answers")
    ci_low: float | None = Field(description="95% confidence interval")
    ci_high: float | None
    distribution: dict[str, int] = Field(description="Answers per scale value")
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    satisfied: int | None = Field(default=None, description="CSAT answers 4 or 5")

    @staticmethod
    def of(score: Score) -> ScoreOut:
        stats = score.stats
        nps, csat = score.kind == "nps", score.kind == "csat"
        return ScoreOut(
            key=score.key,
            label=score.label,
            n=score.n,
            score=stats.value,
            ci_low=stats.low,
            ci_high=stats.high,
            distribution={str(value): count for value, count in sorted(score.counts.items())},
            promoters=score.promoters if nps else None,
            passives=score.passives if nps else None,
            detractors=score.detractors if nps else None,
            satisfied=score.satisfied if csat else None,
        )


class ResponseRateOut(Schema):
    survey: str
    label: str
    sent: int
    answered: int
    rate: float | None

    @staticmethod
    def of(rate: ResponseRate) -> ResponseRateOut:
        return ResponseRateOut(
            survey=rate.key, label=rate.label, sent=rate.sent, answered=rate.answered, rate=rate.rate
        )


class ScoreReportOut(Schema):
    kind: str
    group_by: str
    period: str
    total: ScoreOut
    groups: list[ScoreOut]
    response_rate: ResponseRateOut = Field(description="Invitations sent in the period, and how many were answered")
    response_rates: list[ResponseRateOut] = Field(description="The same per survey")

    @staticmethod
    def of(report: ScoreReport) -> ScoreReportOut:
        return ScoreReportOut(
            kind=report.filters.kind,
            group_by=report.filters.group_by,
            period=report.filters.period,
            total=ScoreOut.of(report.total),
            groups=[ScoreOut.of(g) for g in report.groups],
            response_rate=ResponseRateOut.of(report.response_rate),
            response_rates=[ResponseRateOut.of(r) for r in report.response_rates],
        )


class VerbatimFilter(Schema):
    model_config = ConfigDict(populate_by_name=True)

    kind: str = Field(default="", description=f"{', '.join(KINDS)}, or empty for all")
    survey: str = Field(default="", max_length=60)
    band: str = Field(default="", description=f"One of {', '.join(BANDS)}")
    sentiment: str = Field(default="", description=f"One of {', '.join(SENTIMENTS)}")
    emotion: str = ""
    q: str = Field(default="", description="Words the comment contains")
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


class VerbatimOut(Schema):
    id: str
    survey: str
    kind: str
    score: int | None
    band: str
    comment: str
    sentiment: float | None
    sentiment_label: str
    emotion: str
    emotions: dict[str, float]
    language: str
    key_phrases: list[str]
    channel: str
    case: str | None
    customer: str | None = Field(description="The customer's id; null without customers.view")
    customer_name: str | None
    submitted_at: datetime

    @staticmethod
    def of(response: Response, *, show_customer: bool) -> VerbatimOut:
        return VerbatimOut(
            id=response.public_id,
            survey=response.survey.key,
            kind=response.kind,
            score=response.score,
            band=band_of(response.kind, response.score),
            comment=response.comment,
            sentiment=response.sentiment,
            sentiment_label=response.sentiment_label,
            emotion=response.emotion,
            emotions=dict(response.emotions or {}),
            language=response.language,
            key_phrases=[str(p) for p in response.key_phrases or []],
            channel=response.channel,
            case=response.case_ref or None,
            customer=response.customer.public_id if show_customer else None,
            customer_name=response.customer.name if show_customer else None,
            submitted_at=response.submitted_at,
        )


class VerbatimPage(Schema):
    items: list[VerbatimOut]
    next_cursor: str | None


class DriverFilter(Schema):
    model_config = ConfigDict(populate_by_name=True)

    kind: str = Field(default="nps", description=f"One of {', '.join(KINDS)}")
    survey: str = Field(default="", max_length=60)
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None
    min_mentions: int = Field(default=5, ge=1, le=10_000, description="Answers needed with and without a driver")


class DriverOut(Schema):
    source: str = Field(description="phrase, category or answer")
    key: str
    label: str
    mentions: int
    unhappy: int = Field(description="Answers with it among the unhappy (NPS detractors, CSAT/CES 1–3)")
    happy: int = Field(description="… among the happy (NPS promoters, CSAT 4–5, CES 5–7)")
    share_unhappy: float
    share_happy: float
    score_with: float
    score_without: float
    impact: float = Field(description="score_with − score_without; the most negative first")

    @staticmethod
    def of(driver: Driver) -> DriverOut:
        return DriverOut(
            source=driver.source,
            key=driver.key,
            label=driver.label,
            mentions=driver.mentions,
            unhappy=driver.unhappy,
            happy=driver.happy,
            share_unhappy=driver.share_unhappy,
            share_happy=driver.share_happy,
            score_with=driver.score_with,
            score_without=driver.score_without,
            impact=driver.impact,
        )


class DriverReportOut(Schema):
    kind: str
    answers: int
    unhappy: int
    happy: int
    capped: bool = Field(description="More answers matched than are analysed; the newest were")
    drivers: list[DriverOut]

    @staticmethod
    def of(report: DriverReport) -> DriverReportOut:
        return DriverReportOut(
            kind=report.filters.kind,
            answers=report.answers,
            unhappy=report.unhappy,
            happy=report.happy,
            capped=report.capped,
            drivers=[DriverOut.of(d) for d in report.drivers],
        )
