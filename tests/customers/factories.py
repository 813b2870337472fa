"""factory-boy factories for the customers module's tables (test set-up only; behaviour goes through services)."""

from __future__ import annotations

import factory

from cxloop.customers.models import AttributeDefinition, Customer, Identity, IdentityKind
from cxloop.customers.services.snapshots import search_key


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Customer {n}")
    search_name = factory.LazyAttribute(lambda o: search_key(o.name))
    country = "GB"

    @factory.post_generation
    def tags(self, create: bool, extracted: list[str] | None, **kwargs: object) -> None:
        from cxloop.customers.models import Tag

        if create and extracted:
            self.tags.set([Tag.objects.get_or_create(name=name)[0] for name in extracted])


class IdentityFactory(factory.django.DjangoModelFactory):
    """An identity stored as the services would store it (value already canonical)."""

    class Meta:
        model = Identity

    customer = factory.SubFactory(CustomerFactory)
    kind = IdentityKind.EMAIL
    network = ""
    value = factory.Sequence(lambda n: f"person{n}@example.com")
    match_value = factory.LazyAttribute(lambda o: o.value)
    is_verified = False
    source = "test"


class AttributeDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AttributeDefinition
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"field_{n}")
    label = factory.LazyAttribute(lambda o: o.key.replace("_", " ").title())
    type = "text"
    choices: list[str] = []
