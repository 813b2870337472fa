"""Helpers for tests of the journey runtime: active journeys from a document, customers, templates, event types,
and running the due timers at a chosen moment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cxloop.core.actor import Actor
from cxloop.customers.models import Customer
from cxloop.events import services as event_services
from cxloop.events.types import EventTypeInput
from cxloop.journeys import services, timers
from cxloop.journeys.models import Enrolment, EnrolmentStep, Journey
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import OutboundMessage
from cxloop.messaging.types import TemplateContent
from tests.messaging.conftest import make_customer

SYSTEM = Actor.system("test")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def active_journey(source: str) -> Journey:
    journey = services.create_journey(SYSTEM, source)
    return services.activate_journey(SYSTEM, journey)


def customer(name: str = "Ann Smith", *, email: str = "ann@example.com", **fields: Any) -> Customer:
    return make_customer(name, email=email, **fields)


def template(key: str, *, purpose: str = "service", channel: str = "email") -> None:
    messaging_services.create_template(
        SYSTEM,
        key=key,
        name=key,
        channel=channel,
        purpose=purpose,
        content=TemplateContent(locale="en", subject=f"Subject {key}", body_text=f"Body of {key}"),
    )


def event_type(key: str) -> None:
    from cxloop.events.models import EventType

    if not EventType.objects.filter(key=key).exists():  # some ship with cxloop (page.viewed)
        event_services.create_event_type(SYSTEM, EventTypeInput(key=key, name=key))


def run(at: datetime, worker: str = "test") -> int:
    """Process every timer due at `at` (in batches, as the worker does)."""
    total = 0
    while True:
        done = timers.process_due(worker, now=at)
        total += done
        if done == 0:
            return total


def history(enrolment: Enrolment) -> list[tuple[str, str]]:
    return list(EnrolmentStep.objects.filter(enrolment=enrolment).values_list("step", "outcome"))


def detail(enrolment: Enrolment, outcome: str) -> dict[str, Any]:
    row = EnrolmentStep.objects.filter(enrolment=enrolment, outcome=outcome).order_by("-seq").first()
    assert row is not None, outcome
    return dict(row.detail)


def messages(customer: Customer) -> list[str]:
    """The template keys of the messages made for `customer`, oldest first."""
    rows = OutboundMessage.objects.filter(customer=customer).order_by("pk")
    return [m.template_version.template.key if m.template_version else m.body_text for m in rows]
