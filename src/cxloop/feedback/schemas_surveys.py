"""Schemas of the surveys API (/api/v1/surveys, /api/v1/invitations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from cxloop.feedback.models import Invitation, InvitationStatus, Survey, SurveyKind, SurveyTrigger
from cxloop.feedback.queries.surveys import SurveyStats


class SurveyOut(Schema):
    id: str
    key: str
    name: str
    kind: str = Field(description=f"One of {', '.join(SurveyKind.values)}")
    status: str = Field(description="draft, active or archived")
    purpose: str = Field(description="service or marketing (marketing needs the customer's marketing consent)")
    default_locale: str
    version: int = Field(description="Raised whenever the definition changes")
    definition: dict[str, Any]
    translations: dict[str, Any]
    fatigue_days: int | None = Field(description="At most one invitation of this survey per customer in this many days")
    link_valid_days: int
    sent: int | None = Field(default=None, description="Invitations that reached the customer (lists only)")
    responses: int | None = Field(default=None, description="Answers received (lists only)")
    response_rate: float | None = Field(default=None, description="responses / sent (lists only)")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def of(survey: Survey, stats: SurveyStats | None = None) -> SurveyOut:
        return SurveyOut(
            id=survey.public_id,
            key=survey.key,
            name=survey.name,
            kind=survey.kind,
            status=survey.status,
            purpose=survey.purpose,
            default_locale=survey.default_locale,
            version=survey.version,
            definition=survey.definition,
            translations=survey.translations or {},
            fatigue_days=survey.fatigue_days,
            link_valid_days=survey.link_valid_days,
            sent=stats.sent if stats else None,
            responses=stats.responses if stats else None,
            response_rate=stats.response_rate if stats else None,
            created_at=survey.created_at,
            updated_at=survey.updated_at,
        )


class SurveyPage(Schema):
    items: list[SurveyOut]
    next_cursor: str | None


class SurveyFilter(Schema):
    status: str = Field(default="", description="draft, active or archived")
    kind: str = Field(default="", description="nps, csat, ces or custom")
    q: str = Field(default="", max_length=200, description="Part of the name or key")
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


class SurveyCreate(Schema):
    key: str = Field(max_length=60, description="Short id used in links, triggers and reports (a-z, 0-9, - and _)")
    name: str = Field(max_length=200)
    kind: str = Field(description="nps, csat, ces or custom")
    purpose: str = Field(default="service", description="service or marketing")
    default_locale: str = Field(default="en", max_length=20)
    definition: dict[str, Any] | None = Field(default=None, description="The questions; default: the kind's standard")
    fatigue_days: int | None = Field(default=None, description="Per-survey limit; empty or 0 for none")
    link_valid_days: int = Field(default=30)


class SurveyUpdate(Schema):
    name: str | None = Field(default=None, max_length=200)
    purpose: str | None = None
    default_locale: str | None = Field(default=None, max_length=20)
    definition: dict[str, Any] | None = Field(default=None, description="The whole document; raises the version")
    translations: dict[str, dict[str, Any] | None] | None = Field(
        default=None, description="Per locale: its texts, or null to remove that locale"
    )
    fatigue_days: int | None = Field(default=None, description="0 turns the per-survey limit off")
    link_valid_days: int | None = None


class TriggerOut(Schema):
    id: str
    survey: str
    event_name: str
    delay_minutes: int
    channel: str
    conditions: dict[str, Any]
    is_active: bool

    @staticmethod
    def of(trigger: SurveyTrigger) -> TriggerOut:
        return TriggerOut(
            id=trigger.public_id,
            survey=trigger.survey.key,
            event_name=trigger.event_name,
            delay_minutes=trigger.delay_minutes,
            channel=trigger.channel,
            conditions=trigger.conditions,
            is_active=trigger.is_active,
        )


class TriggerCreate(Schema):
    event_name: str = Field(max_length=100, description="case.resolved, chat.ended, or any event with a customer_id")
    delay_minutes: int = Field(default=0)
    channel: str = Field(default="", max_length=16, description="Empty: the case's channel, else email")
    conditions: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True


class TriggerUpdate(Schema):
    event_name: str | None = Field(default=None, max_length=100)
    delay_minutes: int | None = None
    channel: str | None = Field(default=None, max_length=16)
    conditions: dict[str, Any] | None = None
    is_active: bool | None = None


class InvitationOut(Schema):
    id: str
    survey: str
    survey_version: int
    customer: str
    channel: str
    locale: str
    status: str = Field(description=f"One of {', '.join(InvitationStatus.values)}")
    skip_reason: str
    trigger: str
    trigger_ref: str
    case: str | None
    thread: str | None
    team: int | None
    agent: str | None
    goal: str
    message: str | None = Field(description="The outbound message that carried the link")
    send_at: datetime | None
    sent_at: datetime | None
    opened_at: datetime | None
    answered_at: datetime | None
    expires_at: datetime

    @staticmethod
    def of(invitation: Invitation) -> InvitationOut:
        return InvitationOut(
            id=invitation.public_id,
            survey=invitation.survey.key,
            survey_version=invitation.survey_version,
            customer=invitation.customer.public_id,
            channel=invitation.channel,
            locale=invitation.locale,
            status=invitation.status,
            skip_reason=invitation.skip_reason,
            trigger=invitation.trigger,
            trigger_ref=invitation.trigger_ref,
            case=invitation.case_ref or None,
            thread=invitation.thread_ref or None,
            team=invitation.team_id,
            agent=invitation.agent.username if invitation.agent is not None else None,
            goal=invitation.goal_key,
            message=invitation.message_ref or None,
            send_at=invitation.send_at,
            sent_at=invitation.sent_at,
            opened_at=invitation.opened_at,
            answered_at=invitation.answered_at,
            expires_at=invitation.expires_at,
        )


class InvitationPage(Schema):
    items: list[InvitationOut]
    next_cursor: str | None


class InvitationFilter(Schema):
    survey: str = Field(default="", max_length=60, description="A survey's key")
    customer: str = Field(default="", max_length=40, description="A customer's id")
    status: str = ""
    channel: str = Field(default="", max_length=16)
    trigger: str = ""
    cursor: str | None = None
    limit: int = Field(default=25, ge=1, le=200)


class InvitationCreate(Schema):
    customer: str = Field(max_length=40, description="The customer's id")
    channel: str = Field(default="email", description="email, sms, whatsapp, chat or social")
    trigger_ref: str = Field(default="", max_length=120, description="Your reference: one invitation per reference")
    case: str = Field(default="", max_length=40, description="The case it is about (its team, owner and goal)")
    thread: str = Field(default="", max_length=32, description="The conversation (for chat: the chat to ask in)")
    send_at: datetime | None = Field(default=None, description="Later; default: now")
    locale: str = Field(default="", max_length=20, description="Default: the customer's")


class InvitationBatch(Schema):
    customers: list[str] = Field(description="Customer ids, at most 500")
    channel: str = Field(default="email")
    send_at: datetime | None = None


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, str]


class BatchItemOut(Schema):
    customer: str
    invitation: InvitationOut | None = Field(description="Made (sent, scheduled or skipped with its reason)")
    error: ErrorOut | None = Field(description="Refused: survey_fatigue, customer_not_found, validation_error…")


class BatchOut(Schema):
    sent: int
    scheduled: int
    skipped: int
    refused: int
    items: list[BatchItemOut]
