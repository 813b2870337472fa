"""/api/v1/surveys and /api/v1/invitations: manage surveys and their triggers, invite customers (one or a batch),
and list invitations.

A survey is named by its key (or its id, srv_…). Inviting a customer asked too recently answers 409
`survey_fatigue` with the date of their last survey; a batch reports that per customer instead. A definition
that is not valid answers 422 with one entry per path (`definition.questions[1].choices`).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from cxloop.api.auth import actor_of
from cxloop.core.actor import Actor
from cxloop.core.errors import NotFoundError, ValidationError
from cxloop.customers import queries as customer_queries
from cxloop.customers.models import Customer
from cxloop.feedback.models import TriggerKind
from cxloop.feedback.queries import invitations as invitation_queries
from cxloop.feedback.queries import surveys as survey_queries
from cxloop.feedback.schemas_surveys import (
    BatchItemOut,
    BatchOut,
    ErrorOut,
    InvitationBatch,
    InvitationCreate,
    InvitationFilter,
    InvitationOut,
    InvitationPage,
    SurveyCreate,
    SurveyFilter,
    SurveyOut,
    SurveyPage,
    SurveyUpdate,
    TriggerCreate,
    TriggerOut,
    TriggerUpdate,
)
from cxloop.feedback.services import invitations as invitation_services
from cxloop.feedback.services import surveys as survey_services
from cxloop.feedback.services import triggers as trigger_services

router = Router(tags=["surveys"])


def _customer(actor: Actor, public_id: str, field: str = "customer") -> Customer:
    try:
        return customer_queries.get_customer(actor, public_id)
    except NotFoundError:
        raise ValidationError("No such customer.", fields={field: "unknown customer"}) from None


# --- surveys ------------------------------------------------------------------------------------------------------


@router.get("/surveys", response=SurveyPage, summary="Surveys, newest first, with sent, responses and response rate")
def list_surveys(request: HttpRequest, filters: Query[SurveyFilter]) -> SurveyPage:
    actor = actor_of(request)
    page = survey_queries.list_surveys(
        actor,
        survey_queries.SurveyFilters(status=filters.status, kind=filters.kind, text=filters.q),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    stats = survey_queries.survey_stats(actor, [s.pk for s in page.items])
    return SurveyPage(items=[SurveyOut.of(s, stats[s.pk]) for s in page.items], next_cursor=page.next_cursor)


@router.post("/surveys", response={201: SurveyOut}, summary="Create a survey (a draft; standard questions by kind)")
def create_survey(request: HttpRequest, payload: SurveyCreate) -> Status[SurveyOut]:
    survey = survey_services.create_survey(
        actor_of(request),
        survey_services.SurveyInput(
            key=payload.key,
            name=payload.name,
            kind=payload.kind,
            purpose=payload.purpose,
            default_locale=payload.default_locale,
            definition=payload.definition,
            fatigue_days=payload.fatigue_days,
            link_valid_days=payload.link_valid_days,
        ),
    )
    return Status(201, SurveyOut.of(survey))


@router.get("/surveys/{survey_id}", response=SurveyOut, summary="One survey with its definition and translations")
def get_survey(request: HttpRequest, survey_id: str) -> SurveyOut:
    return SurveyOut.of(survey_queries.get_survey(actor_of(request), survey_id))


@router.patch("/surveys/{survey_id}", response=SurveyOut, summary="Change settings, the definition, translations")
def update_survey(request: HttpRequest, survey_id: str, payload: SurveyUpdate) -> SurveyOut:
    actor = actor_of(request)
    survey = survey_services.update_survey(
        actor,
        survey_queries.get_survey(actor, survey_id),
        survey_services.SurveyChanges(
            name=payload.name,
            purpose=payload.purpose,
            default_locale=payload.default_locale,
            definition=payload.definition,
            fatigue_days=payload.fatigue_days,
            link_valid_days=payload.link_valid_days,
            translations=payload.translations,
        ),
    )
    return SurveyOut.of(survey)


@router.post("/surveys/{survey_id}/activate", response=SurveyOut, summary="Start taking invitations")
def activate_survey(request: HttpRequest, survey_id: str) -> SurveyOut:
    actor = actor_of(request)
    return SurveyOut.of(survey_services.activate_survey(actor, survey_queries.get_survey(actor, survey_id)))


@router.post("/surveys/{survey_id}/archive", response=SurveyOut, summary="Stop new invitations (answers stay)")
def archive_survey(request: HttpRequest, survey_id: str) -> SurveyOut:
    actor = actor_of(request)
    return SurveyOut.of(survey_services.archive_survey(actor, survey_queries.get_survey(actor, survey_id)))


# --- triggers -----------------------------------------------------------------------------------------------------


@router.get("/surveys/{survey_id}/triggers", response=list[TriggerOut], summary="The survey's triggers")
def list_triggers(request: HttpRequest, survey_id: str) -> list[TriggerOut]:
    actor = actor_of(request)
    return [TriggerOut.of(t) for t in survey_queries.triggers_of(actor, survey_queries.get_survey(actor, survey_id))]


@router.post("/surveys/{survey_id}/triggers", response={201: TriggerOut}, summary="Invite on an event, after a delay")
def create_trigger(request: HttpRequest, survey_id: str, payload: TriggerCreate) -> Status[TriggerOut]:
    actor = actor_of(request)
    trigger = trigger_services.create_trigger(
        actor,
        survey_queries.get_survey(actor, survey_id),
        trigger_services.TriggerInput(
            event_name=payload.event_name,
            delay_minutes=payload.delay_minutes,
            channel=payload.channel,
            conditions=payload.conditions,
            is_active=payload.is_active,
        ),
    )
    return Status(201, TriggerOut.of(trigger))


@router.patch("/surveys/{survey_id}/triggers/{trigger_id}", response=TriggerOut, summary="Change a trigger")
def update_trigger(request: HttpRequest, survey_id: str, trigger_id: str, payload: TriggerUpdate) -> TriggerOut:
    actor = actor_of(request)
    trigger = survey_queries.get_trigger(actor, survey_queries.get_survey(actor, survey_id), trigger_id)
    changes = trigger_services.TriggerChanges(
        event_name=payload.event_name,
        delay_minutes=payload.delay_minutes,
        channel=payload.channel,
        conditions=payload.conditions,
        is_active=payload.is_active,
    )
    return TriggerOut.of(trigger_services.update_trigger(actor, trigger, changes))


@router.delete("/surveys/{survey_id}/triggers/{trigger_id}", response={204: None}, summary="Remove a trigger")
def delete_trigger(request: HttpRequest, survey_id: str, trigger_id: str) -> Status[None]:
    actor = actor_of(request)
    trigger = survey_queries.get_trigger(actor, survey_queries.get_survey(actor, survey_id), trigger_id)
    trigger_services.delete_trigger(actor, trigger)
    return Status(204, None)


# --- invitations --------------------------------------------------------------------------------------------------


@router.post(
    "/surveys/{survey_id}/invitations",
    response={201: InvitationOut},
    summary="Invite one customer (409 survey_fatigue when asked too recently)",
)
def create_invitation(request: HttpRequest, survey_id: str, payload: InvitationCreate) -> Status[InvitationOut]:
    actor = actor_of(request)
    invitation = invitation_services.invite(
        actor,
        survey_queries.get_survey(actor, survey_id),
        _customer(actor, payload.customer),
        channel=payload.channel,
        trigger=TriggerKind.API,
        trigger_ref=payload.trigger_ref,
        case_ref=payload.case,
        thread_ref=payload.thread,
        send_at=payload.send_at,
        locale=payload.locale,
    )
    return Status(201, InvitationOut.of(invitation_queries.get_invitation(actor, invitation.public_id)))


@router.post(
    "/surveys/{survey_id}/invitations/batch",
    response=BatchOut,
    summary="Invite many customers; each item says sent, skipped (with the reason) or refused",
)
def create_invitations(request: HttpRequest, survey_id: str, payload: InvitationBatch) -> BatchOut:
    actor = actor_of(request)
    result = invitation_services.invite_batch(
        actor,
        survey_queries.get_survey(actor, survey_id),
        payload.customers,
        channel=payload.channel,
        send_at=payload.send_at,
    )
    items = [
        BatchItemOut(
            customer=item.customer_id,
            invitation=InvitationOut.of(item.invitation) if item.invitation is not None else None,
            error=ErrorOut(code=item.error.code, message=item.error.message, fields=item.error.fields)
            if item.error is not None
            else None,
        )
        for item in result.items
    ]
    return BatchOut(
        sent=result.count("sent"),
        scheduled=result.count("scheduled"),
        skipped=result.count("skipped"),
        refused=result.errors,
        items=items,
    )


@router.get("/invitations", response=InvitationPage, summary="Invitations, newest first, by survey, customer, status")
def list_invitations(request: HttpRequest, filters: Query[InvitationFilter]) -> InvitationPage:
    page = invitation_queries.list_invitations(
        actor_of(request),
        invitation_queries.InvitationFilters(
            survey=filters.survey,
            customer=filters.customer,
            status=filters.status,
            channel=filters.channel,
            trigger=filters.trigger,
        ),
        cursor=filters.cursor,
        limit=filters.limit,
    )
    return InvitationPage(items=[InvitationOut.of(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/invitations/{invitation_id}", response=InvitationOut, summary="One invitation")
def get_invitation(request: HttpRequest, invitation_id: str) -> InvitationOut:
    return InvitationOut.of(invitation_queries.get_invitation(actor_of(request), invitation_id))
