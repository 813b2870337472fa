"""factory-boy factories for feedback's tables (test set-up only; behaviour goes through services).

Shared by every feedback test file: add a factory here when a table needs one.
"""

from __future__ import annotations

from datetime import timedelta

import factory

from cxloop.core import clock
from cxloop.feedback.models import Invitation, LoopRule, Response, Survey
from tests.customers.factories import CustomerFactory


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"survey-{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("-", " ").title())
    kind = "nps"
    status = "active"
    definition = factory.LazyFunction(dict)


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    survey = factory.SubFactory(SurveyFactory)
    customer = factory.SubFactory(CustomerFactory)
    channel = "email"
    status = "sent"
    sent_at = factory.LazyFunction(clock.now)
    expires_at = factory.LazyFunction(lambda: clock.now() + timedelta(days=30))


class ResponseFactory(factory.django.DjangoModelFactory):
    """An answer as submit_response would store it; set score, comment and the text-analytics fields yourself."""

    class Meta:
        model = Response

    invitation = factory.SubFactory(InvitationFactory)
    survey = factory.LazyAttribute(lambda o: o.invitation.survey)
    customer = factory.LazyAttribute(lambda o: o.invitation.customer)
    kind = factory.LazyAttribute(lambda o: o.invitation.survey.kind)
    score = 9
    comment = ""
    answers = factory.LazyFunction(dict)
    channel = "email"
    submitted_at = factory.LazyFunction(clock.now)


class LoopRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoopRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    position = factory.Sequence(lambda n: n + 100)
    conditions = factory.LazyFunction(lambda: {"kinds": ["nps"], "score_at_most": 6})
