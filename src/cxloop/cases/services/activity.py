"""How a case follows its conversations: a staff answer counts as a response for the SLA, a customer's message
brings a case that waited on them (or was resolved) back to the team.

Subscribed to "interaction.recorded" (cases/apps.py). The event names the case its conversation serves, so
messages outside cases cost nothing here.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from cxloop.cases import statuses
from cxloop.cases.events import CaseReopened, CaseStatusChanged
from cxloop.cases.models import Case, CaseStatus
from cxloop.core.actor import Actor
from cxloop.events.bus import DomainEvent, publish_all
from cxloop.interactions.events import InteractionRecorded
from cxloop.interactions.models import Direction, Interaction
from cxloop.privacy.services import record_audit

logger = logging.getLogger(__name__)


def on_interaction_recorded(event: DomainEvent) -> None:
    if not isinstance(event, InteractionRecorded) or not event.case_id or event.kind != "message":
        return
    if event.direction not in (Direction.INBOUND, Direction.OUTBOUND):
        return  # internal notes are not answers
    note_case_message(event.case_id, event.interaction_id)


@transaction.atomic
def note_case_message(case_id: str, interaction_id: str) -> None:
    case = Case.objects.select_for_update().filter(public_id=case_id).first()
    interaction = Interaction.objects.filter(public_id=interaction_id).only("occurred_at", "direction").first()
    if case is None or interaction is None or case.status == CaseStatus.CLOSED:
        return
    at = interaction.occurred_at
    if interaction.direction == Direction.OUTBOUND:
        _note_response(case, at)
    else:
        _note_customer_message(case, at)


def _note_response(case: Case, at: datetime) -> None:
    from cxloop.cases.services import sla  # imported here: cases/apps.py imports this module at start-up

    fields = ["last_response_at"]
    case.last_response_at = max(case.last_response_at or at, at)
    if case.first_response_at is None:
        case.first_response_at = at
        fields.append("first_response_at")
    case.save(update_fields=[*fields, "updated_at"])
    sla.on_response(case, at)


def _note_customer_message(case: Case, at: datetime) -> None:
    from cxloop.cases.services import sla

    case.last_customer_message_at = max(case.last_customer_message_at or at, at)
    fields = ["last_customer_message_at"]
    previous = case.status
    back_to_us = previous in (CaseStatus.WAITING_ON_CUSTOMER, CaseStatus.RESOLVED)
    if back_to_us:
        case.status = CaseStatus.OPEN
        fields.append("status")
        if previous == CaseStatus.RESOLVED:
            case.resolved_at, case.goal_achieved, case.outcome = None, None, ""
            case.reopen_count += 1
            fields += ["resolved_at", "goal_achieved", "outcome", "reopen_count"]
        case.version += 1
        fields.append("version")
    case.save(update_fields=[*fields, "updated_at"])
    if back_to_us:
        sla.on_status_changed(case, previous, at)
    sla.on_customer_message(case, at)
    if not back_to_us:
        return
    record_audit(
        Actor.system("cases"),
        "case.status_changed",
        object_type="case",
        object_id=case.public_id,
        summary=f"#{case.pk}: {previous} → open (the customer wrote)",
        before={"status": previous},
        after={"status": CaseStatus.OPEN.value},
    )
    events: list[DomainEvent] = [CaseStatusChanged(case_id=case.public_id, status=case.status, previous=previous)]
    if statuses.is_reopening(previous, case.status):
        events.append(CaseReopened(case_id=case.public_id, reason="the customer wrote again"))
    publish_all(events)
