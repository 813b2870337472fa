"""Enrolments follow their customer: merged (and unmerged) with them, in their data export, deleted with them."""

from __future__ import annotations

from cxloop.customers import services as customer_services
from cxloop.customers.models import Merge
from cxloop.journeys.models import Enrolment, EnrolmentStep
from tests.customers.factories import CustomerFactory
from tests.journeys.factories import enrolment, make_journey


def test_a_merge_moves_the_enrolments_and_an_unmerge_moves_them_back(bob):
    journey = make_journey("welcome", status="active")
    customer, survivor = CustomerFactory(name="Maya"), CustomerFactory(name="Maya P.")
    running = enrolment(journey, step="wait_a_day", passed=("welcome",), customer=customer)
    kept = enrolment(journey, step="welcome", customer=survivor)

    customer_services.merge_customers(bob.actor, survivor, customer)
    merged_to = Enrolment.objects.get(pk=running.pk).customer
    customer_services.unmerge(bob.actor, Merge.objects.get())

    assert merged_to == survivor
    assert Enrolment.objects.get(pk=running.pk).customer == customer
    assert Enrolment.objects.get(pk=kept.pk).customer == survivor


def test_the_export_lists_the_enrolments_with_their_history(ada):
    journey = make_journey("welcome", status="active")
    customer = CustomerFactory()
    row = enrolment(
        journey, step="done", state="exited", exit_reason="finished", passed=("welcome",), customer=customer
    )

    document = customer_services.export_customer(ada.actor, customer)

    steps = list(EnrolmentStep.objects.filter(enrolment=row).order_by("seq"))
    assert document["journey_enrolments"] == [
        {
            "id": row.public_id,
            "journey": "welcome",
            "version": 1,
            "state": "exited",
            "step": "done",
            "entered_at": row.entered_at.isoformat(),
            "finished_at": row.finished_at.isoformat(),
            "exit_reason": "finished",
            "history": [
                {"step": "welcome", "kind": "step", "outcome": "done", "at": steps[0].at.isoformat()},
                {"step": "done", "kind": "step", "outcome": "exited", "at": steps[1].at.isoformat()},
            ],
        }
    ]


def test_deleting_the_customer_deletes_their_enrolments(bob):
    journey = make_journey("welcome", status="active")
    customer, other = CustomerFactory(), CustomerFactory()
    enrolment(journey, step="wait_a_day", customer=customer)
    enrolment(journey, step="wait_a_day", customer=other)

    customer_services.delete_customer(bob.actor, customer)

    assert list(Enrolment.objects.values_list("customer", flat=True)) == [other.pk]
