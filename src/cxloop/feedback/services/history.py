"""Importing survey history: invitations and answers collected before cxloop (another survey tool's export, or
the demo's six months), written with bulk inserts.

Imported answers are scored by text analytics like live ones, so they count in the scores, verbatims and
drivers; but they are history, so no event is published for them and no follow-up loop opens. One audit entry
records the import as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from cxloop import textanalytics
from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.ids import new_public_id
from cxloop.core.permissions import Perm
from cxloop.feedback.definitions import SCALES
from cxloop.feedback.models import Invitation, InvitationStatus, Response, Survey
from cxloop.privacy.services import record_audit

BATCH = 1000
MAX_ITEMS = 100_000


@dataclass(frozen=True)
class PastAnswer:
    score: int | None
    submitted_at: datetime
    comment: str = ""
    answers: dict[str, Any] = field(default_factory=dict)
    segment: str = ""


@dataclass(frozen=True)
class PastInvitation:
    """One invitation sent in the past, with its answer if the customer gave one."""

    survey: Survey
    customer_id: int
    sent_at: datetime
    channel: str = "email"
    locale: str = "en"
    team_id: int | None = None
    agent_id: int | None = None
    goal_key: str = ""
    case_ref: str = ""
    answer: PastAnswer | None = None


def _check(items: Sequence[PastInvitation]) -> None:
    if len(items) > MAX_ITEMS:
        raise ValidationError(f"At most {MAX_ITEMS} invitations per import.", fields={"items": "too many"})
    for index, item in enumerate(items):
        answer = item.answer
        if answer is None or answer.score is None:
            continue
        low, high = SCALES.get(item.survey.kind, (0, 10))
        if item.survey.kind in SCALES and not low <= answer.score <= high:
            raise ValidationError("A score is out of range.", fields={f"items[{index}].score": f"{low}..{high}"})
        if answer.submitted_at < item.sent_at:
            raise ValidationError("An answer predates its invitation.", fields={f"items[{index}].submitted_at": "<"})


def _invitation(item: PastInvitation) -> Invitation:
    answered = item.answer.submitted_at if item.answer else None
    return Invitation(
        public_id=new_public_id(Invitation.PUBLIC_ID_PREFIX),
        survey=item.survey,
        survey_version=item.survey.version,
        customer_id=item.customer_id,
        channel=item.channel,
        locale=item.locale,
        status=InvitationStatus.ANSWERED if answered else InvitationStatus.EXPIRED,
        case_ref=item.case_ref,
        team_id=item.team_id,
        agent_id=item.agent_id,
        goal_key=item.goal_key,
        sent_at=item.sent_at,
        answered_at=answered,
        expires_at=item.sent_at + timedelta(days=item.survey.link_valid_days),
    )


def _response(item: PastInvitation, invitation: Invitation, analysis: textanalytics.TextAnalysis | None) -> Response:
    answer = item.answer
    assert answer is not None  # noqa: S101 - only answered invitations get here
    return Response(
        public_id=new_public_id(Response.PUBLIC_ID_PREFIX),
        invitation=invitation,
        survey=item.survey,
        customer_id=item.customer_id,
        kind=item.survey.kind,
        score=answer.score,
        comment=answer.comment,
        answers=answer.answers,
        locale=item.locale,
        channel=item.channel,
        team_id=item.team_id,
        agent_id=item.agent_id,
        goal_key=item.goal_key,
        segment=answer.segment,
        case_ref=item.case_ref,
        sentiment=analysis.sentiment if analysis else None,
        sentiment_label=analysis.sentiment_label if analysis else "",
        emotion=analysis.emotion if analysis else "",
        emotions=dict(analysis.emotions) if analysis else {},
        language=analysis.language if analysis else "",
        key_phrases=list(analysis.key_phrases) if analysis else [],
        submitted_at=answer.submitted_at,
    )


@transaction.atomic
def import_history(actor: Actor, items: Sequence[PastInvitation], *, source: str) -> tuple[int, int]:
    """Write the invitations and their answers; returns (invitations, answers) written."""
    actor.require(Perm.FEEDBACK_MANAGE)
    _check(items)
    invitations = Invitation.objects.bulk_create([_invitation(item) for item in items], batch_size=BATCH)
    answered = [(item, inv) for item, inv in zip(items, invitations, strict=True) if item.answer is not None]
    comments = [item.answer.comment if item.answer else "" for item, _ in answered]
    with_text = [index for index, text in enumerate(comments) if text.strip()]
    analyses = dict(zip(with_text, textanalytics.analyse_many([comments[i] for i in with_text]), strict=True))
    Response.objects.bulk_create(
        [_response(item, inv, analyses.get(index)) for index, (item, inv) in enumerate(answered)], batch_size=BATCH
    )
    record_audit(
        actor,
        "feedback.history_imported",
        object_type="feedback",
        object_id=source[:60],
        summary=f"imported {len(invitations)} invitations and {len(answered)} answers from {source}",
    )
    return len(invitations), len(answered)
