"""Cases and promises follow their customer through merges and unmerges, into the personal-data export, and into
the SLA policy of a new tier."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.cases.models import Case, Promise
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import promises as promise_services
from cxloop.cases.services.cases import CaseInput
from cxloop.core import clock
from cxloop.customers.services import export as export_services
from cxloop.customers.services import merging, profiles
from tests.cases.factories import SlaPolicyFactory
from tests.customers.factories import AttributeDefinitionFactory, CustomerFactory


@pytest.fixture
def pair(db):  # type: ignore[no-untyped-def]
    return CustomerFactory(name="Ann Lee"), CustomerFactory(name="Ann Lee (old profile)")


def test_a_merge_moves_cases_and_promises_and_an_unmerge_moves_them_back(pair, alice, bob):  # type: ignore[no-untyped-def]
    target, source = pair
    kept = case_services.open_case(alice.actor, CaseInput(customer=target, subject="Card declined"))
    moved = case_services.open_case(alice.actor, CaseInput(customer=source, subject="Refund missing"))
    promise = promise_services.make_promise(
        alice.actor, customer=source, description="Call back", due_at=clock.now() + timedelta(days=1), case=moved
    )

    merge = merging.merge_customers(bob.actor, target, source)

    assert set(Case.objects.filter(customer=target).values_list("pk", flat=True)) == {kept.pk, moved.pk}
    assert Promise.objects.get(pk=promise.pk).customer_id == target.pk

    merging.unmerge(bob.actor, merge)

    assert list(Case.objects.filter(customer=target).values_list("pk", flat=True)) == [kept.pk]
    assert Case.objects.get(pk=moved.pk).customer_id == source.pk
    assert Promise.objects.get(pk=promise.pk).customer_id == source.pk


def test_the_personal_data_export_lists_cases_and_promises(pair, alice, bob):  # type: ignore[no-untyped-def]
    customer, _ = pair
    case = case_services.open_case(alice.actor, CaseInput(customer=customer, subject="Card declined"))
    promise_services.make_promise(
        alice.actor, customer=customer, description="Replacement card by Friday", due_at=clock.now() + timedelta(days=2)
    )

    document = export_services.export_customer(bob.actor, customer)

    assert [c["id"] for c in document["cases"]] == [case.public_id]
    assert document["cases"][0]["subject"] == "Card declined"
    assert [p["description"] for p in document["promises"]] == ["Replacement card by Friday"]


def test_a_new_tier_moves_open_cases_to_that_tiers_policy(alice, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    AttributeDefinitionFactory(key="tier", type="choice", choices=["Everyday", "Premium"])
    customer = CustomerFactory(attributes={"tier": "Everyday"})
    premium = SlaPolicyFactory(name="Premium", position=0, customer_tiers=["Premium"], first_response_minutes=30)
    standard = SlaPolicyFactory(name="Standard", position=1, first_response_minutes=240)
    case = case_services.open_case(alice.actor, CaseInput(customer=customer, subject="Card declined"))
    assert case.sla_policy_id == standard.pk

    with django_capture_on_commit_callbacks(execute=True):
        profiles.update_customer(alice.actor, customer, {"attributes": {"tier": "Premium"}})

    case.refresh_from_db()
    assert case.sla_policy_id == premium.pk
