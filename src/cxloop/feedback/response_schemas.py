"""Schemas of the survey-response API (/api/v1/surveys/responses)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from cxloop.feedback.models import Response


class ResponseIn(Schema):
    token: str = Field(
        min_length=1,
        max_length=500,
        description="The signed token of the invitation's survey link (the part after /p/s/): the credential.",
    )
    answers: dict[str, Any] = Field(
        description='By question id, e.g. {"score": 3, "comment": "…"}; multiple choice as a list of values.'
    )


class ResponseOut(Schema):
    id: str
    invitation: str
    survey: str = Field(description="The survey's key")
    kind: str = Field(description="nps, csat, ces or custom")
    customer: str
    score: int | None
    comment: str
    answers: dict[str, Any]
    locale: str
    channel: str
    team: int | None
    agent: str | None
    goal: str
    segment: str = Field(description="The customer's lifecycle stage when answering")
    case: str | None
    sentiment: float | None
    sentiment_label: str
    emotion: str
    emotions: dict[str, float]
    language: str
    key_phrases: list[str]
    interaction: str | None = Field(description="The answer's entry on the customer's timeline")
    submitted_at: datetime

    @staticmethod
    def of(response: Response) -> ResponseOut:
        return ResponseOut(
            id=response.public_id,
            invitation=response.invitation.public_id,
            survey=response.survey.key,
            kind=response.kind,
            customer=response.customer.public_id,
            score=response.score,
            comment=response.comment,
            answers=response.answers,
            locale=response.locale,
            channel=response.channel,
            team=response.team_id,
            agent=response.agent.get_username() if response.agent is not None else None,
            goal=response.goal_key,
            segment=response.segment,
            case=response.case_ref or None,
            sentiment=response.sentiment,
            sentiment_label=response.sentiment_label,
            emotion=response.emotion,
            emotions=response.emotions,
            language=response.language,
            key_phrases=list(response.key_phrases),
            interaction=response.interaction_ref or None,
            submitted_at=response.submitted_at,
        )
