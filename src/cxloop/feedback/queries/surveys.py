"""Reads of surveys: the list with how many were asked and answered, one survey, its triggers."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.core.pagination import Page, paginate
from cxloop.core.permissions import Perm
from cxloop.feedback.models import InvitationStatus, Survey, SurveyKind, SurveyStatus, SurveyTrigger

# Invitations that reached the customer: the denominator of the response rate.
DELIVERED = (InvitationStatus.SENT, InvitationStatus.OPENED, InvitationStatus.ANSWERED, InvitationStatus.EXPIRED)


@dataclass(frozen=True)
class SurveyFilters:
    status: str = ""
    kind: str = ""
    text: str = ""


@dataclass(frozen=True)
class SurveyStats:
    sent: int
    responses: int

    @property
    def response_rate(self) -> float | None:
        """Answers per invitation that went out (0..1); None before any went out."""
        return self.responses / self.sent if self.sent else None


def _check(filters: SurveyFilters) -> None:
    errors: dict[str, str] = {}
    if filters.status and filters.status not in SurveyStatus.values:
        errors["status"] = f"must be one of {', '.join(SurveyStatus.values)}"
    if filters.kind and filters.kind not in SurveyKind.values:
        errors["kind"] = f"must be one of {', '.join(SurveyKind.values)}"
    if len(filters.text) > 200:
        errors["q"] = "at most 200 characters"
    if errors:
        raise ValidationError("Invalid filter.", fields=errors)


def _filtered(filters: SurveyFilters) -> QuerySet[Survey]:
    qs = Survey.objects.all()
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.text:
        qs = qs.filter(Q(name__icontains=filters.text.strip()) | Q(key__icontains=filters.text.strip()))
    return qs


def list_surveys(actor: Actor, filters: SurveyFilters, *, cursor: str | None = None, limit: int = 25) -> Page[Survey]:
    actor.require(Perm.FEEDBACK_VIEW)
    _check(filters)
    return paginate(_filtered(filters), ("-id",), cursor, limit)


def survey_stats(actor: Actor, survey_ids: list[int]) -> dict[int, SurveyStats]:
    """Invitations that went out and responses, per survey: two grouped counts for a whole page of surveys."""
    actor.require(Perm.FEEDBACK_VIEW)
    from cxloop.feedback.models import Invitation, Response

    sent = dict(
        Invitation.objects.filter(survey_id__in=survey_ids, status__in=DELIVERED)
        .values("survey_id")
        .annotate(n=Count("id"))
        .values_list("survey_id", "n")
    )
    answered = dict(
        Response.objects.filter(survey_id__in=survey_ids)
        .values("survey_id")
        .annotate(n=Count("id"))
        .values_list("survey_id", "n")
    )
    return {pk: SurveyStats(sent=sent.get(pk, 0), responses=answered.get(pk, 0)) for pk in survey_ids}


def get_survey(actor: Actor, key: str) -> Survey:
    """One survey by key or public id (srv_…)."""
    actor.require(Perm.FEEDBACK_VIEW)
    survey = Survey.objects.filter(Q(public_id=key) if key.startswith("srv_") else Q(key=key)).first()
    if survey is None:
        raise NotFoundError(f"No survey {key}.", code="survey_not_found")
    return survey


def active_surveys(actor: Actor) -> list[Survey]:
    """Surveys one may invite to now (the "Send a survey" pickers)."""
    actor.require(Perm.FEEDBACK_VIEW)
    return list(Survey.objects.filter(status=SurveyStatus.ACTIVE).order_by("name", "id"))


def triggers_of(actor: Actor, survey: Survey) -> list[SurveyTrigger]:
    actor.require(Perm.FEEDBACK_VIEW)
    return list(SurveyTrigger.objects.filter(survey=survey).select_related("survey").order_by("id"))


def get_trigger(actor: Actor, survey: Survey, trigger_id: str) -> SurveyTrigger:
    actor.require(Perm.FEEDBACK_VIEW)
    trigger = SurveyTrigger.objects.select_related("survey").filter(survey=survey, public_id=trigger_id).first()
    if trigger is None:
        raise NotFoundError(f"No trigger {trigger_id} on this survey.", code="trigger_not_found")
    return trigger
