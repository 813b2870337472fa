"""Shared set-up of the closed-loop tests: an answer stored as submit_response stores it, and its event."""

from __future__ import annotations

from cxloop.accounts.models import User
from cxloop.customers.models import Customer
from cxloop.events import bus
from cxloop.feedback.events import ResponseReceived
from cxloop.feedback.models import Response, Survey
from tests.feedback.factories import InvitationFactory, ResponseFactory, SurveyFactory


def answer(
    customer: Customer,
    *,
    score: int | None,
    kind: str = "nps",
    comment: str = "",
    sentiment: float | None = None,
    emotion: str = "",
    agent: User | None = None,
    thread_ref: str = "",
    survey: Survey | None = None,
) -> Response:
    survey = survey or SurveyFactory(key=f"{kind}-after-case", name=f"{kind.upper()} after a case", kind=kind)
    invitation = InvitationFactory(survey=survey, customer=customer, thread_ref=thread_ref, agent=agent)
    label = (
        ""
        if sentiment is None
        else ("negative" if sentiment <= -0.05 else "positive" if sentiment >= 0.05 else "neutral")
    )
    return ResponseFactory(
        invitation=invitation,
        score=score,
        comment=comment,
        sentiment=sentiment,
        sentiment_label=label,
        emotion=emotion,
        emotions={emotion: 0.8} if emotion else {},
        agent=agent,
        team=agent.team if agent is not None else None,
    )


def publish_received(response: Response) -> None:
    """What submit_response publishes after its commit."""
    bus.publish(
        ResponseReceived(
            response_id=response.public_id,
            invitation_id=response.invitation.public_id,
            survey=response.survey.key,
            kind=response.kind,
            customer_id=response.customer.public_id,
            score=response.score,
            sentiment=response.sentiment,
            emotion=response.emotion,
            case_id=response.case_ref,
        )
    )
