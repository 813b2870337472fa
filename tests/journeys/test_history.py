"""Importing past enrolments: rows, history and timers in bulk with one audit entry; bad items refused whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.journeys.history import PastEnrolment, PastStep, import_history
from cxloop.journeys.models import Enrolment, EnrolmentStep, JourneyTimer
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory
from tests.journeys.factories import make_journey


def _item(state: str = "active", *, timer: bool = True) -> PastEnrolment:
    at = clock.now() - timedelta(hours=3)
    return PastEnrolment(
        customer_id=CustomerFactory().pk,
        trigger_ref=f"import:{state}:{timer}",
        entered_at=at,
        state=state,
        step="wait_a_day",
        history=(PastStep("welcome", "send_message", "sent", at), PastStep("wait_a_day", "wait", "waiting", at)),
        waiting_for="",
        waiting_since=at if timer else None,
        timer_due_at=at + timedelta(days=1) if timer else None,
    )


def test_enrolments_come_with_history_and_timers(bob):
    journey = make_journey("welcome", status="active")

    written = import_history(
        bob.actor, journey, journey.current_version, [_item(), _item("exited", timer=False)], source="x"
    )

    assert written == 2
    assert sorted(Enrolment.objects.values_list("state", "seq")) == [("active", 2), ("exited", 2)]
    assert EnrolmentStep.objects.count() == 4
    timer = JourneyTimer.objects.get()
    assert timer.enrolment.waiting_since == timer.due_at - timedelta(days=1)
    assert (timer.enrolment.state, timer.step, timer.journey_id) == ("active", "wait_a_day", journey.pk)
    assert all(e.public_id.startswith("enr_") for e in Enrolment.objects.all())
    assert AuditEntry.objects.filter(action="journey.history_imported").count() == 1


def test_bad_items_are_refused_whole(bob):
    journey = make_journey("welcome", status="active")

    with pytest.raises(ValidationError) as refused:
        import_history(
            bob.actor, journey, journey.current_version, [_item(), _item("gone"), _item("exited")], source="x"
        )

    assert set(refused.value.fields) == {"items[1].state", "items[1].timer_due_at", "items[2].timer_due_at"}
    with pytest.raises(ValidationError) as half:
        import_history(bob.actor, journey, journey.current_version, [replace(_item(), waiting_since=None)], source="x")
    assert set(half.value.fields) == {"items[0].waiting_since"}
    assert (Enrolment.objects.count(), JourneyTimer.objects.count()) == (0, 0)


def test_only_managers_import(alice):
    journey = make_journey("welcome", status="active")

    with pytest.raises(PermissionDeniedError):
        import_history(alice.actor, journey, journey.current_version, [_item()], source="x")

    assert Enrolment.objects.count() == 0
