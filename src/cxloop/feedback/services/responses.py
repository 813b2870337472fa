"""Answering a survey: the customer, holding a signed invitation link, opens the survey, leaves answers half done
and comes back to them, and submits once.

- `open_invitation` checks the link and notes the first opening; a one-click score from the email (`?score=3`)
  is kept as a partial answer when it is in range.
- `save_partial_answers` keeps whatever is valid of the answers so far (autosave, and every failed submit).
- `submit_response` records the one response of an invitation: score, comment and what text analytics finds in
  it; profile attributes the survey maps; the answer on the customer's timeline; `response.received`.

No staff user acts here: the token is the credential and the actor (`respondent_actor`) may only do what
answering needs. Audit entries name the survey ("survey <key>") so a changed profile attribute shows its source.
One response per invitation holds under concurrent submits: the invitation row is locked, and the response's
one-to-one constraint refuses a second row where the database has no row locks (SQLite).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from cxloop import textanalytics
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.events.bus import publish
from cxloop.feedback.definitions import (
    COMMENT_QUESTION,
    SCALES,
    SCORE_QUESTION,
    Question,
    SurveyDefinition,
    clean_answers,
)
from cxloop.feedback.errors import AlreadyAnsweredError
from cxloop.feedback.events import ResponseReceived
from cxloop.feedback.models import Invitation, InvitationStatus, Response, Survey
from cxloop.feedback.queries.responses import (
    OpenedSurvey,
    check_answerable,
    definition_of,
    invitation_for_token,
    locale_of,
)
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Channel, Direction
from cxloop.interactions.types import InteractionInput
from cxloop.privacy.services import record_audit

SUMMARY_COMMENT_CHARS = 120


@dataclass(frozen=True)
class SurveyRespondent(Actor):
    """The customer answering through a signed link. `source` is the label the audit shows ("survey <key>"),
    since `via` is a short channel word and the actor has no user whose name could say it."""

    source: str = "survey"

    @property
    def label(self) -> str:
        return self.source


def respondent_actor(
    ip_address: str | None = None, *, via: str = "survey_page", relayed_by: Actor | None = None
) -> Actor:
    """What answering needs and nothing more: write the customer's mapped attributes and the timeline entry.

    `relayed_by` is the API caller that passes a headless survey's answers on; its token is kept in the audit.
    """
    return SurveyRespondent(
        user=None,
        token=relayed_by.token if relayed_by is not None else None,
        via=via,
        ip_address=ip_address,
        permissions=frozenset({Perm.CUSTOMERS_EDIT, Perm.INTERACTIONS_WRITE}),
    )


def _for_survey(actor: Actor, survey: Survey) -> Actor:
    return SurveyRespondent(
        user=actor.user,
        token=actor.token,
        via=actor.via,
        ip_address=actor.ip_address,
        permissions=actor.permissions,
        source=f"survey {survey.key}",
    )


def _valid_part(definition: SurveyDefinition, raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The valid answers among `raw` and the reasons for the others, so that one bad answer loses no good one."""
    try:
        return clean_answers(definition, raw, final=False), {}
    except ValidationError as exc:
        errors = dict(exc.fields)
    bad = {path.removeprefix("answers.") for path in errors}
    kept = clean_answers(definition, {k: v for k, v in raw.items() if str(k) not in bad}, final=False)
    return kept, errors


@transaction.atomic
def open_invitation(actor: Actor, token: str, *, score: str | int | None = None) -> OpenedSurvey:
    """The survey behind a link, noting when it was first opened. A `score` from a one-click email link becomes
    the partial answer of the score question when it is in range; otherwise nothing is kept and `score_error`
    says why."""
    invitation = invitation_for_token(token, lock=True)
    check_answerable(invitation)
    definition = definition_of(invitation)
    answers = dict(invitation.partial_answers or {})
    changed: list[str] = []
    if invitation.opened_at is None:
        invitation.opened_at = clock.now()
        changed.append("opened_at")
        if invitation.status == InvitationStatus.SENT:
            invitation.status = InvitationStatus.OPENED
            changed.append("status")
    score_error = ""
    if score not in (None, "") and definition.question(SCORE_QUESTION) is not None:
        kept, errors = _valid_part(definition, {**answers, SCORE_QUESTION: score})
        score_error = errors.get(f"answers.{SCORE_QUESTION}", "")
        if not score_error and kept != answers:
            answers = kept
            invitation.partial_answers = kept
            changed.append("partial_answers")
    if changed:
        invitation.save(update_fields=[*changed, "updated_at"])
    return OpenedSurvey(invitation, definition, answers, locale_of(invitation), score_error)


@dataclass(frozen=True)
class PartialResult:
    answers: dict[str, Any]
    errors: dict[str, str]


@transaction.atomic
def save_partial_answers(actor: Actor, token: str, answers: Any) -> PartialResult:
    """Keep the answers so far (they replace the earlier partial answers), leaving out the invalid ones; the
    customer who leaves and comes back finds them."""
    if not isinstance(answers, Mapping):
        raise ValidationError("Answers must be an object.", fields={"answers": "must be an object"})
    invitation = invitation_for_token(token, lock=True)
    check_answerable(invitation)
    kept, errors = _valid_part(definition_of(invitation), answers)
    if kept != invitation.partial_answers:
        invitation.partial_answers = kept
        invitation.save(update_fields=["partial_answers", "updated_at"])
    return PartialResult(kept, errors)


def submit_response(actor: Actor, token: str, answers: Any) -> Response:
    """Record the one response of the invitation behind `token`.

    Bad answers raise ValidationError naming `answers.<question id>`; the valid ones are kept as partial answers
    first, so the customer's work survives the error. A second submission raises AlreadyAnsweredError and
    changes nothing; an expired link SurveyLinkExpiredError; a forged one SurveyLinkInvalidError.
    """
    try:
        return _submit(actor, token, answers)
    except ValidationError:
        if isinstance(answers, Mapping):
            save_partial_answers(actor, token, answers)
        raise


def _active_customer(customer: Customer) -> Customer:
    """The profile the answer belongs to now: a customer merged since the invitation lives on in its target."""
    hops = 0
    while not customer.is_active and customer.merged_into_id and hops < 20:
        customer = Customer.objects.get(pk=customer.merged_into_id)
        hops += 1
    return customer


def _attribute_changes(definition: SurveyDefinition, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The profile attributes the answered questions map to, checked against the attribute definitions; a value
    that does not fit is refused under the question's path (answers.<id>), which is what the customer sees."""
    mapped = [q for q in definition.questions if q.attribute and q.id in answers]
    if not mapped:
        return {}
    changes = {q.attribute: answers[q.id] for q in mapped}
    try:
        customer_services.validate_attributes(changes)
    except ValidationError as exc:
        by_attribute = {f"attributes.{q.attribute}": f"answers.{q.id}" for q in mapped}
        fields = {by_attribute.get(path, path): reason for path, reason in exc.fields.items()}
        raise ValidationError("Some answers are not valid.", fields=fields) from exc
    return changes


def _score(answers: Mapping[str, Any]) -> int | None:
    value = answers.get(SCORE_QUESTION)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _comment(survey: Survey, definition: SurveyDefinition, answers: Mapping[str, Any]) -> str:
    """The customer's open words: the comment question of a standard survey; for a custom one every free-text
    answer that is not profile data (an address is not an opinion)."""
    if survey.kind in SCALES:
        return str(answers.get(COMMENT_QUESTION, ""))
    texts = [answers[q.id] for q in definition.questions if q.type == "text" and not q.attribute and q.id in answers]
    return "\n\n".join(str(text) for text in texts)


def _shown_answer(question: Question, value: Any) -> str:
    labels = {choice.value: choice.label for choice in question.choices}
    if isinstance(value, list):
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    return labels.get(value, str(value)) if isinstance(value, str) else str(value)


def _timeline_input(
    survey: Survey, definition: SurveyDefinition, response: Response, invitation: Invitation
) -> InteractionInput:
    score = f" {response.score}" if response.score is not None else ""
    head = f"{survey.kind.upper()}{score}" if survey.kind in SCALES else f"{survey.name}{score}"
    comment = " ".join(response.comment.split())
    if len(comment) > SUMMARY_COMMENT_CHARS:
        comment = comment[: SUMMARY_COMMENT_CHARS - 1].rstrip() + "…"
    body = "\n".join(
        f"{q.text}\n{_shown_answer(q, response.answers[q.id])}\n"
        for q in definition.questions
        if q.id in response.answers
    )
    return InteractionInput(
        channel=Channel.SURVEY,
        direction=Direction.INBOUND,
        occurred_at=response.submitted_at,
        summary=f"{head} — {comment}" if comment else head,
        body=body.strip(),
        subject=survey.name,
        external_id=response.public_id,
        case_ref=invitation.case_ref,
        # Not "message": the answer is on the case's timeline but must not reopen the case or count as a reply.
        metadata={
            "kind": "survey_response",
            "survey": survey.key,
            "invitation": invitation.public_id,
            "response": response.public_id,
            "score": response.score,
        },
    )


def _new_response(
    invitation: Invitation, customer: Customer, answers: dict[str, Any], definition: SurveyDefinition
) -> Response:
    survey = invitation.survey
    comment = _comment(survey, definition, answers)
    analysis = textanalytics.analyse(comment, language_hint=customer.locale) if comment.strip() else None
    response = Response(
        invitation=invitation,
        survey=survey,
        customer=customer,
        kind=survey.kind,
        score=_score(answers),
        comment=comment,
        answers=answers,
        locale=locale_of(invitation),
        channel=invitation.channel,
        team_id=invitation.team_id,
        agent_id=invitation.agent_id,
        goal_key=invitation.goal_key,
        segment=customer.lifecycle_stage,
        case_ref=invitation.case_ref,
        submitted_at=clock.now(),
    )
    if analysis is not None:
        response.sentiment = analysis.sentiment
        response.sentiment_label = analysis.sentiment_label
        response.emotion = analysis.emotion
        response.emotions = dict(analysis.emotions)
        response.language = analysis.language
        response.key_phrases = list(analysis.key_phrases)
    try:
        with transaction.atomic():  # a savepoint: the constraint's refusal must not spoil the outer transaction
            response.save()
    except IntegrityError as exc:
        raise AlreadyAnsweredError("We already have your answer to this survey. Thank you.") from exc
    return response


@transaction.atomic
def _submit(actor: Actor, token: str, answers: Any) -> Response:
    invitation = invitation_for_token(token, lock=True)
    check_answerable(invitation)
    survey = invitation.survey
    definition = definition_of(invitation)
    cleaned = clean_answers(definition, answers, final=True)
    attributes = _attribute_changes(definition, cleaned)
    source = _for_survey(actor, survey)
    customer = _active_customer(invitation.customer)

    response = _new_response(invitation, customer, cleaned, definition)
    invitation.status = InvitationStatus.ANSWERED
    invitation.answered_at = response.submitted_at
    invitation.partial_answers = {}
    invitation.save(update_fields=["status", "answered_at", "partial_answers", "updated_at"])
    if attributes:
        customer = customer_services.update_customer(source, customer, {"attributes": attributes})
    interaction = interaction_services.record_interaction(
        source, customer, _timeline_input(survey, definition, response, invitation)
    )
    response.interaction_ref = interaction.public_id
    response.save(update_fields=["interaction_ref", "updated_at"])
    record_audit(
        source,
        "response.received",
        object_type="survey_response",
        object_id=response.public_id,
        summary=f"{interaction.summary[:200]} (customer {customer.public_id}, invitation {invitation.public_id})",
        after={
            "survey": survey.key,
            "invitation": invitation.public_id,
            "customer": customer.public_id,
            "score": response.score,
            "attributes": sorted(attributes),
        },
    )
    publish(
        ResponseReceived(
            response_id=response.public_id,
            invitation_id=invitation.public_id,
            survey=survey.key,
            kind=survey.kind,
            customer_id=customer.public_id,
            score=response.score,
            sentiment=response.sentiment,
            emotion=response.emotion,
            case_id=invitation.case_ref,
        )
    )
    return response
