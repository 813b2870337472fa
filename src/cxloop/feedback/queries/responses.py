"""Reads of invitations and responses: the survey behind a customer's link (for the survey page, the thank-you page
and the answering services) and one response for staff (the API).

The customer-facing reads take the respondent's actor but check no permission: the signed token is the
credential, and they return only what that one link may show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError
from cxloop.core.permissions import Perm
from cxloop.feedback.definitions import SurveyDefinition, parse_definition, translated
from cxloop.feedback.errors import (
    AlreadyAnsweredError,
    SurveyLinkExpiredError,
    SurveyLinkInvalidError,
    SurveyNotActiveError,
)
from cxloop.feedback.links import invitation_id_for_token
from cxloop.feedback.models import Invitation, InvitationStatus, Response, SurveyStatus

_NEVER_SENT = (InvitationStatus.SCHEDULED, InvitationStatus.SKIPPED)


@dataclass(frozen=True)
class OpenedSurvey:
    """What the survey page shows: the invitation, its questions in the customer's language, the answers kept so
    far, and why a one-click score was not kept (empty when it was, or when there was none)."""

    invitation: Invitation
    definition: SurveyDefinition
    answers: dict[str, Any]
    locale: str
    score_error: str = ""


@dataclass(frozen=True)
class SurveyThanks:
    title: str
    text: str
    locale: str


def locale_of(invitation: Invitation) -> str:
    return invitation.locale or invitation.customer.locale or invitation.survey.default_locale


def definition_of(invitation: Invitation) -> SurveyDefinition:
    survey = invitation.survey
    return parse_definition(translated(survey.definition, survey.translations, locale_of(invitation)), kind=survey.kind)


def invitation_for_token(token: str, *, lock: bool = False) -> Invitation:
    """The invitation a link names; SurveyLinkInvalidError for a forged link or one that was never sent.
    `lock` (inside a transaction) holds the row until it ends, so answers to one link are taken one at a time."""
    public_id = invitation_id_for_token(token)
    rows = Invitation.objects.select_related("survey", "customer")
    if lock:
        rows = rows.select_for_update(of=("self",))
    invitation = rows.filter(public_id=public_id).first()
    if invitation is None or invitation.status in _NEVER_SENT:
        raise SurveyLinkInvalidError("This survey link is not valid.")
    return invitation


def check_answerable(invitation: Invitation) -> None:
    """An answered invitation says so first (the customer has nothing left to do), then expiry, then the survey."""
    if invitation.status == InvitationStatus.ANSWERED or Response.objects.filter(invitation=invitation).exists():
        raise AlreadyAnsweredError("We already have your answer to this survey. Thank you.")
    if invitation.status == InvitationStatus.EXPIRED or invitation.expires_at <= clock.now():
        raise SurveyLinkExpiredError("This survey link has expired.")
    if invitation.survey.status == SurveyStatus.ARCHIVED:
        raise SurveyNotActiveError("This survey is closed and takes no more answers.")


def survey_for_token(actor: Actor, token: str) -> OpenedSurvey:
    """The survey behind a link as it stands (no opening noted): the page shown again after refused answers."""
    invitation = invitation_for_token(token)
    check_answerable(invitation)
    return OpenedSurvey(
        invitation, definition_of(invitation), dict(invitation.partial_answers or {}), locale_of(invitation)
    )


def thanks_for_token(actor: Actor, token: str) -> SurveyThanks | None:
    """The survey's thank-you text once the link's invitation is answered; None while it is not."""
    invitation = invitation_for_token(token)
    if invitation.status != InvitationStatus.ANSWERED:
        return None
    definition = definition_of(invitation)
    return SurveyThanks(title=definition.title, text=definition.thank_you, locale=locale_of(invitation))


def get_response(actor: Actor, response_id: str) -> Response:
    actor.require(Perm.FEEDBACK_VIEW)
    found = (
        Response.objects.select_related("survey", "customer", "invitation", "agent", "team")
        .filter(public_id=response_id)
        .first()
    )
    if found is None:
        raise NotFoundError("No such survey response.")
    return found
