"""From a stored event to the rules' runs: the subscriber (cheap for events no rule wants), the task, the periodic
catch-up that finds events whose task never ran, and no rule feeding another through its own actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tasks_db.models import DBTaskResult

from cxloop.automation import runner, services
from cxloop.automation.models import RuleRun, Watermark
from cxloop.automation.services import RuleInput
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.customers import services as customer_services
from cxloop.events import services as event_services
from cxloop.events.models import Event
from cxloop.events.types import CustomerRef, EventInput
from tests.automation.conftest import T0


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _ingest(system, customer, n: int, type_key: str = "purchase.completed"):
    return event_services.ingest_events(
        system,
        [
            EventInput(
                event_id=f"evt-{n}",
                type=type_key,
                customer=CustomerRef(id=customer.public_id),
                occurred_at=T0,
                properties={"amount": n},
            )
        ],
    )


def test_an_ingested_event_runs_the_rules_through_the_task(
    make_rule, customer, system, immediate_tasks, django_capture_on_commit_callbacks
):
    rule = make_rule([{"type": "tag", "add": ["buyer"]}])

    with django_capture_on_commit_callbacks(execute=True):
        _ingest(system, customer, 7)

    run = RuleRun.objects.get()
    assert (run.rule, run.event_ref, run.status) == (rule, "customer_event:evt-7", "succeeded")
    assert sorted(customer.tags.values_list("name", flat=True)) == ["buyer", "vip"]


def test_a_batch_of_customer_events_kicks_one_deferred_task(
    make_rule, customer, system, django_capture_on_commit_callbacks
):
    make_rule()

    with django_capture_on_commit_callbacks(execute=True):
        event_services.ingest_events(
            system,
            [
                EventInput(event_id=f"evt-{n}", type="purchase.completed", customer=CustomerRef(id=customer.public_id))
                for n in range(50)
            ],
        )
        _ingest(system, customer, 99)
        customer_services.update_customer(system, customer, {"name": "Maya P."})  # customer.updated: no rule

    (task,) = DBTaskResult.objects.all()
    assert task.task_path == "cxloop.automation.tasks.process_new_events"
    assert task.run_after is not None
    assert task.run_after > clock.now()
    assert RuleRun.objects.count() == 0


def test_a_cxloop_event_travels_in_its_own_task(db, system, customer, django_capture_on_commit_callbacks):
    from cxloop.cases.services import cases as case_services
    from cxloop.cases.services.cases import CaseInput

    services.create_rule(
        system,
        RuleInput(
            name="New cases",
            trigger_source="domain_event",
            trigger_type="case.opened",
            actions=[{"type": "tag", "add": ["has-case"]}],
        ),
    )
    runner.forget_triggers()

    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.open_case(system, CaseInput(customer=customer, subject="Card blocked"))

    (task,) = DBTaskResult.objects.filter(task_path="cxloop.automation.tasks.run_rules")
    occurrence = task.args_kwargs["args"][0]
    assert (occurrence["source"], occurrence["type"], occurrence["ref"], occurrence["customer_id"]) == (
        "domain_event",
        "case.opened",
        f"case.opened:{case.public_id}",
        customer.public_id,
    )
    assert (occurrence["properties"]["case_id"], occurrence["properties"]["priority"]) == (case.public_id, "normal")


def test_the_kicked_pass_runs_new_events_at_once_and_moves_its_own_mark(make_rule, customer, system):
    make_rule([{"type": "tag", "add": ["buyer"]}])
    _ingest(system, customer, 1)
    _ingest(system, customer, 2)

    first = runner.process_new_events()
    _ingest(system, customer, 3)
    second = runner.process_new_events()
    third = runner.process_new_events()

    assert (first, second, third) == ({"events": 2, "runs": 2}, {"events": 1, "runs": 1}, {"events": 0, "runs": 0})
    assert Watermark.objects.get(name="customer_events.kick").value == Event.objects.get(event_id="evt-3").pk


def test_a_domain_event_without_its_own_id_gets_a_fresh_ref_each_time(db, customer, system):
    from cxloop.customers.events import CustomerUpdated

    first = runner.occurrence_of(CustomerUpdated(customer_id=customer.public_id, changed=["name"]))
    second = runner.occurrence_of(CustomerUpdated(customer_id=customer.public_id, changed=["name"]))

    assert first is not None
    assert second is not None
    assert first.ref != second.ref
    assert (first.source, first.type, first.properties["changed"]) == ("domain_event", "customer.updated", ["name"])


def test_the_trigger_set_is_remembered_until_a_rule_changes(make_rule, django_assert_num_queries):
    rule = make_rule()
    runner.trigger_keys()

    with django_assert_num_queries(0):
        keys = runner.trigger_keys()

    services.set_active(Actor.system("test"), rule, False)
    runner.forget_triggers()  # set_active does this on commit
    assert keys == frozenset({("customer_event", "purchase.completed")})
    assert runner.trigger_keys() == frozenset()


def _age(rule, events) -> None:
    """The rule existed 20 minutes ago and these events were stored 10 minutes ago (settled for the catch-up)."""
    rule.created_at = clock.now() - timedelta(minutes=20)
    rule.save(update_fields=["created_at"])
    events.update(created_at=clock.now() - timedelta(minutes=10))


def test_the_catch_up_runs_the_rules_for_events_whose_task_never_ran(make_rule, customer, system, purchase_type):
    rule = make_rule([{"type": "tag", "add": ["buyer"]}])
    _ingest(system, customer, 1)  # no commit callbacks here: as if the process died after the commit
    _ingest(system, customer, 2)
    _age(rule, Event.objects.all())

    first = runner.catch_up()
    second = runner.catch_up()

    assert first == {"events": 2, "runs": 2, "resumed": 0}
    assert second == {"events": 0, "runs": 0, "resumed": 0}
    assert sorted(RuleRun.objects.values_list("event_ref", flat=True)) == [
        "customer_event:evt-1",
        "customer_event:evt-2",
    ]
    assert Watermark.objects.get().value == Event.objects.get(event_id="evt-2").pk


def test_the_catch_up_leaves_young_events_to_their_task_and_skips_those_with_a_run(
    make_rule, customer, system, purchase_type
):
    rule = make_rule()
    _ingest(system, customer, 1)
    _ingest(system, customer, 2)
    _age(rule, Event.objects.filter(event_id="evt-1"))
    runner.run_rules(
        runner.Occurrence(
            source="customer_event",
            type="purchase.completed",
            ref="customer_event:evt-1",
            customer_id=customer.public_id,
            occurred_at=T0.isoformat(),
            received_at=clock.now().isoformat(),
            properties={"amount": 1},
        )
    )

    counts = runner.catch_up()

    assert counts == {"events": 0, "runs": 0, "resumed": 0}
    assert Watermark.objects.get().value == Event.objects.get(event_id="evt-1").pk


@pytest.mark.django_db(transaction=True)
def test_changes_made_by_rules_do_not_trigger_rules(system, immediate_tasks):
    """A tag publishes customer.updated; a rule on customer.updated that tags must not loop on itself."""
    from tests.customers.factories import CustomerFactory

    customer = CustomerFactory(name="Loop")
    services.create_rule(
        system,
        RuleInput(
            name="Tag on update",
            trigger_source="domain_event",
            trigger_type="customer.updated",
            actions=[{"type": "tag", "add": ["touched"]}],
        ),
    )
    runner.forget_triggers()

    customer_services.update_customer(system, customer, {"name": "Loop 2"})

    (run,) = RuleRun.objects.all()
    assert (run.status, run.trigger_type) == ("succeeded", "customer.updated")
    assert list(customer.tags.values_list("name", flat=True)) == ["touched"]
