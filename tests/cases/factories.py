"""factory-boy factories for case management's tables (test set-up only; behaviour goes through services).

Shared by every cases test file: add a factory here when a table needs one.
"""

from __future__ import annotations

import factory

from cxloop.accounts.models import Team
from cxloop.cases.models import (
    BusinessCalendar,
    Case,
    Category,
    Goal,
    Holiday,
    SlaPolicy,
    TeamCalendar,
)
from cxloop.core import clock
from tests.customers.factories import CustomerFactory


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Goal
        django_get_or_create = ("key",)

    key = "care"
    name = factory.LazyAttribute(lambda o: o.key.replace("_", " ").title())


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"category-{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("-", " ").title())


class CaseFactory(factory.django.DjangoModelFactory):
    """A case row as open_case would leave it, minus plan, routing and SLA (call those yourself)."""

    class Meta:
        model = Case

    customer = factory.SubFactory(CustomerFactory)
    goal = factory.SubFactory(GoalFactory)
    subject = factory.Sequence(lambda n: f"Problem {n}")
    status = "open"
    priority = "normal"
    opened_at = factory.LazyFunction(clock.now)


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    """Monday to Friday, 09:00-17:00 in Europe/London unless told otherwise."""

    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Calendar {n}")
    time_zone = "Europe/London"


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    calendar = factory.SubFactory(BusinessCalendarFactory)
    name = "Holiday"


class TeamCalendarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamCalendar

    team = factory.SubFactory(TeamFactory)
    calendar = factory.SubFactory(BusinessCalendarFactory)


class SlaPolicyFactory(factory.django.DjangoModelFactory):
    """Any case: first response in 60, resolution in 480 business minutes, warned 30 minutes ahead."""

    class Meta:
        model = SlaPolicy
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Policy {n}")
    first_response_minutes = 60
    resolution_minutes = 480
    warn_before_minutes = 30

    @factory.post_generation
    def categories(self, create: bool, extracted: list[Category] | None, **kwargs: object) -> None:
        if create and extracted:
            self.categories.set(extracted)


class CaseTemplateFactory(factory.django.DjangoModelFactory):
    """An active template; give it goal/category, and tasks with CaseTemplateTaskFactory(template=…)."""

    class Meta:
        model = "cases.CaseTemplate"

    name = factory.Sequence(lambda n: f"Template {n}")


class CaseTemplateTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cases.CaseTemplateTask"

    template = factory.SubFactory(CaseTemplateFactory)
    title = factory.Sequence(lambda n: f"Step {n}")
    position = factory.Sequence(lambda n: n)


class CaseFieldDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cases.CaseFieldDefinition"
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda o: o.key.replace("_", " ").title())
    type = "text"


class MacroFactory(factory.django.DjangoModelFactory):
    """A macro whose actions were checked as create_macro checks them (give valid ones)."""

    class Meta:
        model = "cases.Macro"

    name = factory.Sequence(lambda n: f"Macro {n}")
    actions = factory.LazyFunction(lambda: [{"type": "set_priority", "value": "high"}])


class QueueFactory(factory.django.DjangoModelFactory):
    """A routing queue (manual assignment unless told); add members with QueueMemberFactory(queue=…, user=…)."""

    class Meta:
        model = "cases.Queue"
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"queue-{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("-", " ").title())


class QueueMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "cases.QueueMember"

    queue = factory.SubFactory(QueueFactory)


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    """A rule whose conditions were checked as create_rule checks them (give valid ones)."""

    class Meta:
        model = "cases.RoutingRule"

    name = factory.Sequence(lambda n: f"Rule {n}")
    position = factory.Sequence(lambda n: n + 1)
    queue = factory.SubFactory(QueueFactory)
    conditions = factory.LazyFunction(dict)
