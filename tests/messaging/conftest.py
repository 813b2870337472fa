"""Fixtures for messaging: a recording sender per channel (the internal OutboundSender interface), tasks run
at once, a frozen clock, and customers made through the customers services."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import ClassVar

import pytest

from cxloop.channels import registry
from cxloop.channels.base import OutboundPayload, SendFailed, SendOutcome
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.events import bus


class RecordingSender:
    """Records every payload; answers with the queued outcomes (a SendOutcome or a SendFailed), else "sent"."""

    channel: ClassVar[str] = ""

    def __init__(self, channel: str) -> None:
        self.channel = channel  # type: ignore[misc]
        self.sent: list[OutboundPayload] = []
        self.outcomes: list[SendOutcome | Exception] = []

    def send(self, payload: OutboundPayload) -> SendOutcome:
        self.sent.append(payload)
        if self.outcomes:
            outcome = self.outcomes.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return SendOutcome(provider_message_id=f"prov-{payload.message_ref}")

    def fail(self, reason: str = "provider unreachable", *, permanent: bool = False, times: int = 1) -> None:
        self.outcomes += [SendFailed(reason, permanent=permanent, code="E1")] * times


class Senders(dict[str, RecordingSender]):
    def all_sent(self) -> list[OutboundPayload]:
        return [payload for sender in self.values() for payload in sender.sent]


@pytest.fixture
def senders(monkeypatch: pytest.MonkeyPatch) -> Senders:
    found = Senders()
    for channel in ("email", "sms", "whatsapp"):
        found[channel] = RecordingSender(channel)
        monkeypatch.setitem(registry._senders, channel, found[channel])
    monkeypatch.delitem(registry._senders, "social", raising=False)
    monkeypatch.delitem(registry._senders, "chat", raising=False)
    return found


@pytest.fixture(autouse=True)
def _messaging_settings(settings) -> None:  # type: ignore[no-untyped-def]
    """Tests run at any hour: quiet hours and the cap are off unless a test turns them on."""
    settings.CXLOOP_QUIET_HOURS = "off"
    settings.CXLOOP_MARKETING_CAP = "off"
    settings.CXLOOP_SEND_MAX_ATTEMPTS = 5
    settings.CXLOOP_BASE_URL = "https://cx.example.com"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """frozen(moment): clock.now() answers `moment` from now on (Django's auto timestamps are not affected)."""

    def freeze(moment: datetime) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    return freeze


@pytest.fixture
def received() -> Iterator[list[bus.DomainEvent]]:
    events: list[bus.DomainEvent] = []
    bus.subscribe("*", events.append)
    yield events
    bus.unsubscribe("*", events.append)


def make_customer(
    name: str = "Ann Smith",
    *,
    email: str = "ann@example.com",
    phone: str = "",
    whatsapp: str = "",
    time_zone: str = "",
    locale: str = "",
    attributes: dict[str, object] | None = None,
) -> Customer:
    identities = []
    if email:
        identities.append(IdentityInput(kind="email", value=email))
    if phone:
        identities.append(IdentityInput(kind="phone", value=phone))
    if whatsapp:
        identities.append(IdentityInput(kind="whatsapp", value=whatsapp))
    customer = customer_services.create_customer(
        Actor.system("test"),
        CustomerInput(
            name=name,
            country="GB",
            time_zone=time_zone,
            locale=locale,
            identities=identities,
            attributes=attributes or {},
        ),
    )
    return Customer.objects.prefetch_related("identities").get(pk=customer.pk)


@pytest.fixture
def ann(db: None) -> Customer:
    return make_customer(phone="+44 7700 900123")
