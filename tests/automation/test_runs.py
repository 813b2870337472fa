"""Running rules: in order, conditions with reasons, stop_processing, every action kind, one run per event,
failures recorded without hiding the other actions, webhooks to a real local server, resumed interrupted runs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from cxloop.accounts.models import Notification
from cxloop.automation import runner
from cxloop.automation.models import RuleRun
from cxloop.cases.models import Case
from cxloop.channels.outbound_webhook import DELIVERY_HEADER, EVENT_HEADER
from cxloop.channels.signing import SIGNATURE_HEADER, verify
from cxloop.core import clock
from cxloop.events.models import Event
from tests.automation.conftest import Receiver, purchase
from tests.cases.factories import CaseFactory
from tests.interactions.factories import ThreadFactory


def _tags(customer):
    return sorted(customer.tags.values_list("name", flat=True))


def test_a_matching_rule_runs_its_actions_and_logs_each_outcome(make_rule, customer):
    rule = make_rule(
        [{"type": "tag", "add": ["buyer"], "remove": ["vip"]}],
        conditions={"field": "event.properties.amount", "operator": "gte", "value": 100},
    )

    (run,) = runner.run_rules(purchase(customer, amount=120))

    assert (run.rule, run.customer, run.status, run.event_ref) == (rule, customer, "succeeded", "customer_event:p-1")
    assert run.explanation == ["event.properties.amount (120) gte 100 → True"]
    ((outcome),) = run.outcomes
    assert (outcome["index"], outcome["type"], outcome["status"], outcome["detail"]) == (
        0,
        "tag",
        "succeeded",
        {"added": ["buyer"], "removed": ["vip"]},
    )
    assert _tags(customer) == ["buyer"]


def test_a_rule_whose_conditions_fail_is_logged_as_skipped_with_the_reasons(make_rule, customer):
    make_rule(
        conditions={
            "all": [
                {"field": "attributes.plan", "operator": "eq", "value": "PRO"},
                {"field": "event.properties.amount", "operator": "gte", "value": 100},
            ]
        }
    )

    (run,) = runner.run_rules(purchase(customer, amount=20))

    assert (run.status, run.outcomes, run.finished_at is not None) == ("skipped", [], True)
    assert run.explanation == [
        "attributes.plan ('pro') eq 'PRO' → True",
        "event.properties.amount (20) gte 100 → False",
    ]
    assert _tags(customer) == ["vip"]


def test_rules_run_in_order_and_stop_processing_ends_the_pass(make_rule, customer, system):
    from cxloop.automation import services

    first = make_rule([{"type": "tag", "add": ["first"]}])
    stopper = make_rule([{"type": "tag", "add": ["second"]}], stop_processing=True)
    later = make_rule([{"type": "tag", "add": ["third"]}])
    services.reorder_rules(system, [stopper.public_id, first.public_id, later.public_id])

    runs = runner.run_rules(purchase(customer))

    assert [r.rule for r in runs] == [stopper]
    assert _tags(customer) == ["second", "vip"]


def test_a_skipped_stop_rule_does_not_stop_the_others(make_rule, customer):
    stopper = make_rule(
        [{"type": "tag", "add": ["big"]}],
        stop_processing=True,
        conditions={"field": "event.properties.amount", "operator": "gt", "value": 1000},
    )
    other = make_rule([{"type": "tag", "add": ["any"]}])

    runs = runner.run_rules(purchase(customer, amount=5))

    assert [(r.rule, r.status) for r in runs] == [(stopper, "skipped"), (other, "succeeded")]


def test_inactive_rules_other_triggers_and_rules_newer_than_the_event_do_not_run(make_rule, customer, system):
    from cxloop.automation import services

    off = make_rule()
    services.set_active(system, off, False)
    make_rule(trigger_source="domain_event", trigger_type="case.opened")
    late = make_rule()
    occurrence = purchase(customer)
    late.created_at = clock.now() + timedelta(minutes=1)
    late.save(update_fields=["created_at"])

    assert runner.run_rules(occurrence) == []
    assert RuleRun.objects.count() == 0


def test_a_redelivered_event_runs_each_rule_once(make_rule, customer, receiver):
    make_rule([{"type": "tag", "add": ["buyer"]}, {"type": "webhook", "url": receiver}])

    first = runner.run_rules(purchase(customer))
    again = runner.run_rules(purchase(customer))

    assert [r.pk for r in again] == [r.pk for r in first]
    assert (RuleRun.objects.count(), len(Receiver.received), customer.tags.count()) == (1, 1, 2)


def test_one_failing_action_does_not_hide_the_others(make_rule, customer, receiver, bob):
    Receiver.status = 410  # not a failure that passes: final at once (test_webhook_retries.py has the others)
    rule = make_rule(
        [
            {"type": "assign", "target": "conversation", "user": "bob"},
            {"type": "webhook", "url": receiver},
            {"type": "tag", "add": ["buyer"]},
        ]
    )
    ThreadFactory(customer=customer, status="open")
    from cxloop.accounts.models import User

    User.objects.filter(username="bob").update(is_active=False)

    (run,) = runner.run_rules(purchase(customer))

    assert run.rule == rule
    assert [(o["type"], o["status"]) for o in run.outcomes] == [
        ("assign", "failed"),
        ("webhook", "failed"),
        ("tag", "succeeded"),
    ]
    assert run.outcomes[0]["error"] == "That user cannot be given work. (user: no active user 'bob')"
    assert (run.outcomes[1]["error"], run.outcomes[1]["detail"]["status"]) == ("HTTP 410", 410)
    assert (run.status, _tags(customer)) == ("partially", ["buyer", "vip"])


def test_every_action_failing_makes_a_failed_run(make_rule, customer, settings):
    settings.CXLOOP_AUTOMATION_WEBHOOK_RETRIES = 0  # no answer is transient: no automatic retry here
    make_rule([{"type": "webhook", "url": "http://127.0.0.1:9/none"}])

    (run,) = runner.run_rules(purchase(customer))

    assert (run.status, run.outcomes[0]["status"], run.outcomes[0]["detail"]["status"]) == ("failed", "failed", 0)


def test_the_webhook_is_signed_with_a_delivery_id_stable_per_run_and_action(make_rule, customer, receiver, settings):
    settings.CXLOOP_OUTBOUND_WEBHOOK_SECRET = "hook-secret"
    rule = make_rule([{"type": "tag", "add": ["buyer"]}, {"type": "webhook", "url": receiver}])

    (run,) = runner.run_rules(purchase(customer, amount=42))

    (got,) = Receiver.received
    verify("hook-secret", got["body"], got["headers"][SIGNATURE_HEADER])
    assert (got["headers"][DELIVERY_HEADER], got["headers"][EVENT_HEADER]) == (
        f"{run.public_id}.1",
        "automation_rule.ran",
    )
    assert json.loads(got["body"]) == {
        "rule": {"id": rule.public_id, "name": rule.name},
        "run_id": run.public_id,
        "event": {
            "source": "customer_event",
            "type": "purchase.completed",
            "ref": "customer_event:p-1",
            "occurred_at": "2026-03-02T09:00:00+00:00",
            "properties": {"amount": 42},
        },
        "customer": {
            "id": customer.public_id,
            "name": "Maya Patel",
            "country": "GB",
            "locale": "",
            "lifecycle_stage": customer.lifecycle_stage,
            "tags": ["buyer", "vip"],
            "attributes": {"plan": "pro"},
        },
    }
    assert run.outcomes[1]["detail"]["delivery_id"] == f"{run.public_id}.1"


def test_an_interrupted_run_resumes_without_repeating_done_actions(make_rule, customer, receiver):
    rule = make_rule([{"type": "open_case", "subject": "Check order"}, {"type": "webhook", "url": receiver}])
    (run,) = runner.run_rules(purchase(customer, amount=3))
    # As if the process died after the case but before the webhook's answer was stored:
    run.outcomes = run.outcomes[:1]
    run.status, run.finished_at, run.lease_until = "matched", None, clock.now() - timedelta(seconds=1)
    run.save()
    Receiver.received.clear()

    resumed = runner.resume_interrupted()

    run.refresh_from_db()
    assert (resumed, run.status, Case.objects.filter(customer=customer).count()) == (1, "succeeded", 1)
    assert [o["type"] for o in run.outcomes] == ["open_case", "webhook"]
    assert [r["headers"][DELIVERY_HEADER] for r in Receiver.received] == [f"{run.public_id}.1"]
    assert json.loads(Receiver.received[0]["body"])["event"]["properties"] == {"amount": 3}
    assert rule.runs.count() == 1


def test_a_run_still_under_its_lease_is_left_to_its_worker(make_rule, customer):
    make_rule()
    (run,) = runner.run_rules(purchase(customer))
    run.outcomes, run.status, run.finished_at = [], "matched", None
    run.lease_until = clock.now() + timedelta(minutes=3)
    run.save()

    assert runner.resume_interrupted() == 0
    assert runner.run_rules(purchase(customer))[0].outcomes == []


def test_assign_gives_the_customers_open_conversation_to_a_user(make_rule, customer, alice):
    ThreadFactory(customer=customer, status="closed")
    thread = ThreadFactory(customer=customer, status="open")
    make_rule([{"type": "assign", "target": "conversation", "user": "alice"}])

    (run,) = runner.run_rules(purchase(customer))

    thread.refresh_from_db()
    assert (thread.assigned_to, thread.team) == (alice.user, alice.user.team)
    assert run.outcomes[0]["detail"] == {"conversation": thread.public_id, "user": "alice", "team": ""}


def test_assign_without_an_open_conversation_is_skipped_not_failed(make_rule, customer, alice):
    make_rule([{"type": "assign", "target": "conversation", "user": "alice"}])

    (run,) = runner.run_rules(purchase(customer))

    assert (run.status, run.outcomes[0]["status"], run.outcomes[0]["error"]) == (
        "succeeded",
        "skipped",
        "the customer has no open conversation",
    )


def test_assign_a_case_to_a_team_on_the_event_that_opened_it(make_rule, customer, bob, team_b):
    case = CaseFactory(customer=customer, status="new")
    make_rule(
        [{"type": "assign", "target": "case", "team": team_b.name}],
        trigger_source="domain_event",
        trigger_type="case.opened",
    )
    occurrence = runner.Occurrence(
        source="domain_event",
        type="case.opened",
        ref=f"case.opened:{case.public_id}",
        customer_id=customer.public_id,
        occurred_at=clock.now().isoformat(),
        received_at=clock.now().isoformat(),
        properties={"case_id": case.public_id, "customer_id": customer.public_id},
    )

    (run,) = runner.run_rules(occurrence)

    case.refresh_from_db()
    assert (run.status, case.team, case.owner) == ("succeeded", team_b, None)


def test_notify_tells_the_users_and_the_team_with_placeholders_filled(make_rule, customer, alice, bob, charlie):
    make_rule(
        [
            {
                "type": "notify",
                "users": ["charlie"],
                "team": "Team A",
                "title": "{customer.name} bought for {event.properties.amount}",
                "body": "Rule {rule.name}; {unknown.thing}",
            }
        ]
    )

    (run,) = runner.run_rules(purchase(customer, amount=99))

    rows = Notification.objects.order_by("user__username")
    assert [(n.user.username, n.kind, n.title, n.url) for n in rows] == [
        (name, "automation", "Maya Patel bought for 99", f"/customers/{customer.public_id}/")
        for name in ("alice", "bob", "charlie")
    ]
    assert rows[0].body == f"Rule {run.rule.name}; {{unknown.thing}}"
    assert run.outcomes[0]["detail"]["notified"] == ["alice", "bob", "charlie"]


def test_open_case_opens_one_case_for_the_customer(make_rule, customer, bob):
    make_rule(
        [{"type": "open_case", "subject": "Big order {event.properties.amount}", "priority": "high", "owner": "bob"}]
    )

    (run,) = runner.run_rules(purchase(customer, amount=500))

    case = Case.objects.get(customer=customer)
    assert (case.subject, case.priority, case.owner, case.status) == ("Big order 500", "high", bob.user, "open")
    assert run.outcomes[0]["detail"] == {"case": case.public_id, "subject": "Big order 500"}


def test_has_event_reads_the_customers_past_events(make_rule, customer, purchase_type):
    for n, amount in enumerate((10, 200, 300)):
        Event.objects.create(
            event_id=f"old-{n}",
            event_type=purchase_type,
            customer=customer,
            occurred_at=clock.now() - timedelta(days=n),
            properties={"amount": amount},
        )
    make_rule(
        conditions={
            "has_event": "purchase.completed",
            "within": "30 days",
            "min_count": 2,
            "where": {"field": "event.properties.amount", "operator": "gt", "value": 100},
        }
    )

    (run,) = runner.run_rules(purchase(customer))

    assert run.status == "succeeded"
    assert run.explanation == ["has_event purchase.completed in the last 30 days (where …): 2 found, 2 needed → True"]


def test_an_unknown_or_merged_away_customer_gets_no_run(make_rule, customer):
    make_rule()
    occurrence = purchase(customer)

    gone = runner.Occurrence(**{**occurrence.as_dict(), "customer_id": "cus_nobody"})

    assert runner.run_rules(gone) == []


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"field": "tags", "operator": "contains", "value": "VIP"}, True),
        ({"field": "tags", "operator": "in", "value": ["gold", "vip"]}, True),
        ({"field": "profile.country", "operator": "eq", "value": "gb"}, True),
        ({"field": "profile.locale", "operator": "exists"}, False),
        ({"field": "event.properties.coupon", "operator": "ne", "value": "X"}, True),
        ({"field": "event.properties.amount", "operator": "lt", "value": "100"}, False),
        ({"field": "event.at", "operator": "gte", "value": "2026-03-01"}, True),
        ({"not": {"field": "event.type", "operator": "eq", "value": "purchase.completed"}}, False),
        (
            {
                "any": [
                    {"field": "attributes.plan", "operator": "eq", "value": "free"},
                    {"field": "tags", "operator": "exists"},
                ]
            },
            True,
        ),
    ],
)
def test_conditions_read_the_profile_tags_attributes_and_event(make_rule, customer, condition, holds):
    make_rule(conditions=condition)

    (run,) = runner.run_rules(purchase(customer, amount=50))

    assert run.status == ("succeeded" if holds else "skipped")


def test_database_actions_run_in_one_transaction_each_failure_rolled_back_alone(make_rule, customer, bob):
    make_rule(
        [
            {"type": "tag", "add": ["first"]},
            {"type": "open_case", "subject": "Call back", "owner": "bob"},
            {"type": "tag", "add": ["last"]},
        ]
    )
    from cxloop.accounts.models import User

    User.objects.filter(username="bob").update(is_active=False)

    (run,) = runner.run_rules(purchase(customer))

    assert [(o["type"], o["status"]) for o in run.outcomes] == [
        ("tag", "succeeded"),
        ("open_case", "failed"),
        ("tag", "succeeded"),
    ]
    assert (run.status, run.finished_at is not None, run.lease_until) == ("partially", True, None)
    assert (Case.objects.count(), _tags(customer)) == (0, ["first", "last", "vip"])
    run.refresh_from_db()
    assert [o["status"] for o in run.outcomes] == ["succeeded", "failed", "succeeded"]
