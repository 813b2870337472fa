"""Fixtures for the staff UI tests: logged-in clients for the cast, and customers made through services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client

from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.interactions import services as interaction_services
from cxloop.interactions.models import Interaction
from cxloop.interactions.types import InteractionInput
from tests.conftest import Member

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def web(client: Client) -> Callable[[Member], Client]:
    """web(alice) -> the test client, logged in as alice."""

    def login(member: Member) -> Client:
        client.force_login(member.user)
        return client

    return login


def make_customer(
    actor: Actor,
    name: str,
    *,
    email: str = "",
    phone: str = "",
    country: str = "GB",
    stage: str = "lead",
    tags: list[str] | None = None,
    attributes: dict[str, object] | None = None,
) -> Customer:
    identities = []
    if email:
        identities.append(IdentityInput(kind="email", value=email))
    if phone:
        identities.append(IdentityInput(kind="phone", value=phone))
    return customer_services.create_customer(
        actor,
        CustomerInput(
            name=name,
            country=country,
            lifecycle_stage=stage,
            identities=identities,
            tags=tags or [],
            attributes=attributes or {},
        ),
    )


def log_many(actor: Actor, customer: Customer, count: int, *, channel: str = "email") -> list[Interaction]:
    """`count` interactions an hour apart, the last one an hour ago."""
    now = clock.now()
    return [
        interaction_services.record_interaction(
            actor,
            customer,
            InteractionInput(
                channel=channel,
                direction="inbound",
                occurred_at=now - timedelta(hours=count - index),
                body=f"Message number {index}",
            ),
        )
        for index in range(count)
    ]


@pytest.fixture
def ann(system: Actor) -> Customer:
    return make_customer(system, "Ann Smith", email="ann@example.com", phone="+447700900123", tags=["vip"])


@pytest.fixture
def bert(system: Actor) -> Customer:
    return make_customer(system, "Bert Jones", email="bert@example.com")
