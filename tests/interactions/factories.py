"""factory-boy factories for interactions and threads (test set-up only)."""

from __future__ import annotations

from datetime import timedelta

import factory

from cxloop.core import clock
from cxloop.interactions.models import Interaction, Thread
from tests.customers.factories import CustomerFactory


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread

    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    subject = factory.Sequence(lambda n: f"Subject {n}")
    external_ref = factory.Sequence(lambda n: f"<thread-{n}@example.com>")
    last_activity_at = factory.LazyFunction(clock.now)


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    direction = "inbound"
    occurred_at = factory.Sequence(lambda n: clock.now() - timedelta(minutes=n + 1))
    summary = factory.Sequence(lambda n: f"Message {n}")
    body = factory.LazyAttribute(lambda o: f"Body of {o.summary}")
