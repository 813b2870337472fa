"""The run log follows its customer: merged (and unmerged) with them, in their data export, deleted with them."""

from __future__ import annotations

from cxloop.automation import runner
from cxloop.automation.models import RuleRun
from cxloop.customers import services as customer_services
from cxloop.customers.models import Merge
from tests.automation.conftest import purchase
from tests.customers.factories import CustomerFactory


def test_a_merge_moves_the_runs_and_an_unmerge_moves_them_back(make_rule, customer, bob):
    make_rule()
    (run,) = runner.run_rules(purchase(customer))
    survivor = CustomerFactory(name="Maya P.")

    customer_services.merge_customers(bob.actor, survivor, customer)
    merged_to = RuleRun.objects.get(pk=run.pk).customer
    customer_services.unmerge(bob.actor, Merge.objects.get())

    assert merged_to == survivor
    assert RuleRun.objects.get(pk=run.pk).customer == customer


def test_the_export_lists_the_runs(make_rule, customer, ada):
    rule = make_rule([{"type": "tag", "add": ["buyer"]}])
    (run,) = runner.run_rules(purchase(customer, amount=5))

    document = customer_services.export_customer(ada.actor, customer)

    assert document["automation_runs"] == [
        {
            "id": run.public_id,
            "rule": rule.name,
            "trigger": "purchase.completed",
            "status": "succeeded",
            "at": run.at.isoformat(),
            "event": run.event_data,
            "actions": [{"summary": "Tag +buyer", "status": "succeeded"}],
        }
    ]
    assert document["automation_runs"][0]["event"]["properties"] == {"amount": 5}


def test_deleting_the_customer_deletes_their_runs(make_rule, customer, bob):
    make_rule()
    runner.run_rules(purchase(customer))
    other = CustomerFactory(name="Other")
    runner.run_rules(purchase(other, 2))

    customer_services.delete_customer(bob.actor, customer)

    assert list(RuleRun.objects.values_list("customer", flat=True)) == [other.pk]
