"""Importing journey history: enrolments that ran before cxloop (another tool's export, or the demo's weeks of
onboarding), each with its history and, when it is still waiting, its timer. Written with bulk inserts.

Imported enrolments are history: no event is published for them and no step runs again (their history rows
are their idempotency record, as for live ones). A running one that waits gets its one JourneyTimer, so the
runtime wakes it when it falls due as if it had entered live. One audit entry records the import as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.ids import new_public_id
from cxloop.core.permissions import Perm
from cxloop.journeys.models import Enrolment, EnrolmentState, EnrolmentStep, Journey, JourneyTimer, JourneyVersion
from cxloop.privacy.services import record_audit

BATCH = 1000
MAX_ITEMS = 100_000


@dataclass(frozen=True)
class PastStep:
    step: str
    kind: str
    outcome: str
    at: datetime
    due_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PastEnrolment:
    """One enrolment as it stands now: where it is (or ended), how it got there, and its pending timer if any."""

    customer_id: int
    trigger_ref: str
    entered_at: datetime
    state: str
    step: str
    history: tuple[PastStep, ...]
    finished_at: datetime | None = None
    exit_reason: str = ""
    waiting_for: str = ""
    waiting_since: datetime | None = None  # when its wait began (the runtime ends the wait when the timer comes)
    timer_due_at: datetime | None = None
    timer_is_timeout: bool = False
    context: dict[str, Any] = field(default_factory=dict)


def _check(items: Sequence[PastEnrolment]) -> None:
    errors: dict[str, str] = {}
    if len(items) > MAX_ITEMS:
        errors["items"] = f"at most {MAX_ITEMS:,} at once"
    for index, item in enumerate(items):
        if item.state not in EnrolmentState.values:
            errors[f"items[{index}].state"] = f"must be one of {', '.join(EnrolmentState.values)}"
        if not item.history:
            errors[f"items[{index}].history"] = "at least the first step"
        if item.timer_due_at is not None and item.state != EnrolmentState.ACTIVE:
            errors[f"items[{index}].timer_due_at"] = "only a running enrolment waits"
        if (item.waiting_since is None) != (item.timer_due_at is None):
            errors[f"items[{index}].waiting_since"] = "a waiting enrolment has both waiting_since and timer_due_at"
        if len(errors) >= 20:
            break
    if errors:
        raise ValidationError("The history cannot be imported.", fields=errors)


@transaction.atomic
def import_history(
    actor: Actor, journey: Journey, version: JourneyVersion, items: Sequence[PastEnrolment], *, source: str
) -> int:
    """Write the enrolments with their history and timers; returns how many enrolments were written."""
    actor.require(Perm.JOURNEYS_MANAGE)
    _check(items)
    rows = Enrolment.objects.bulk_create(
        [
            Enrolment(
                public_id=new_public_id(Enrolment.PUBLIC_ID_PREFIX),
                journey=journey,
                version=version,
                customer_id=item.customer_id,
                state=item.state,
                step=item.step,
                trigger_ref=item.trigger_ref,
                context=item.context,
                waiting_for=item.waiting_for,
                waiting_since=item.waiting_since,
                seq=len(item.history),
                entered_at=item.entered_at,
                finished_at=item.finished_at,
                exit_reason=item.exit_reason,
            )
            for item in items
        ],
        batch_size=BATCH,
    )
    EnrolmentStep.objects.bulk_create(
        [
            EnrolmentStep(
                enrolment=row,
                seq=seq,
                step=past.step,
                kind=past.kind,
                outcome=past.outcome,
                at=past.at,
                due_at=past.due_at,
                detail=past.detail,
            )
            for row, item in zip(rows, items, strict=True)
            for seq, past in enumerate(item.history)
        ],
        batch_size=BATCH,
    )
    JourneyTimer.objects.bulk_create(
        [
            JourneyTimer(
                enrolment=row,
                journey=journey,
                due_at=item.timer_due_at,
                step=item.step,
                is_timeout=item.timer_is_timeout,
            )
            for row, item in zip(rows, items, strict=True)
            if item.timer_due_at is not None
        ],
        batch_size=BATCH,
    )
    record_audit(
        actor,
        "journey.history_imported",
        object_type="journey",
        object_id=journey.public_id,
        summary=f"{journey.key}: imported {len(rows)} enrolments from {source}",
    )
    return len(rows)
