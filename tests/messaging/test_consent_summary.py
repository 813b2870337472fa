"""consent_summary reads the history once and must answer exactly what consent_overview answers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError
from cxloop.customers.models import Customer
from cxloop.messaging import queries
from cxloop.messaging import services as messaging_services
from cxloop.messaging.types import ConsentChange
from tests.web.conftest import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(system: Actor) -> Customer:
    return make_customer(system, "Ann Smith", email="ann@example.com", phone="+447700900123")


def _record(system: Actor, customer: Customer, frozen, minutes: int, *changes: ConsentChange) -> None:  # type: ignore[no-untyped-def]
    frozen(clock.now() + timedelta(minutes=minutes))
    messaging_services.record_consents(system, customer, list(changes), source="api")


def test_summary_matches_the_overview_for_a_mixed_history(system, ann, frozen):
    start = clock.now()
    frozen(start)
    _record(system, ann, frozen, 1, ConsentChange("email", "marketing", True), ConsentChange("sms", "marketing", True))
    _record(system, ann, frozen, 2, ConsentChange("*", "marketing", False))  # unsubscribe from all marketing
    _record(system, ann, frozen, 3, ConsentChange("sms", "marketing", True))  # then sms again
    _record(system, ann, frozen, 4, ConsentChange("whatsapp", "service", False))

    summary = queries.consent_summary(system, ann)

    assert summary.current == queries.consent_overview(system, ann)
    assert summary.history == queries.consent_history(system, ann)
    allowed = {(s.channel, s.purpose): s.allowed for s in summary.current}
    assert allowed[("email", "marketing")] is False
    assert allowed[("sms", "marketing")] is True
    assert allowed[("whatsapp", "service")] is False
    assert allowed[("email", "service")] is True


def test_summary_past_its_limit_still_answers_the_overview(system, ann, frozen):
    frozen(clock.now())
    _record(system, ann, frozen, 1, ConsentChange("email", "marketing", True))
    for minute in range(2, 6):
        _record(system, ann, frozen, minute, ConsentChange("sms", "marketing", minute % 2 == 0))

    summary = queries.consent_summary(system, ann, limit=2)

    assert len(summary.history) == 2
    assert summary.current == queries.consent_overview(system, ann)
    assert {(s.channel, s.purpose): s.allowed for s in summary.current}[("email", "marketing")] is True


def test_summary_needs_the_right_to_see_customers(ann):
    outsider = Actor(user=None, via="test", permissions=frozenset())

    with pytest.raises(PermissionDeniedError):
        queries.consent_summary(outsider, ann)
