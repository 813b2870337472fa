"""The automation pages: the ordered list with its buttons, the editor (trigger picker, JSON with a preview and errors
by path, nothing typed lost on a refused save), the run log with filters and one run; readers cannot change rules."""

from __future__ import annotations

import html
import json
import re

import pytest

from cxloop.accounts.models import User
from cxloop.automation import runner, services
from cxloop.automation.models import Rule
from cxloop.automation.runner import Occurrence
from cxloop.automation.services import RuleInput
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.events import services as event_services
from cxloop.events.types import EventTypeInput
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CategoryFactory, GoalFactory, TeamFactory
from tests.customers.factories import CustomerFactory

ACTIONS = [{"type": "tag", "add": ["big spender"]}]
FORM = {
    "name": "Big spenders",
    "description": "",
    "trigger": "customer_event:purchase.completed",
    "conditions": json.dumps({"field": "event.properties.total", "operator": "gte", "value": 500}),
    "actions": json.dumps(ACTIONS),
    "is_active": "on",
    "save": "1",
}


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


@pytest.fixture
def purchase_type(db):  # type: ignore[no-untyped-def]
    return event_services.create_event_type(
        Actor.system("test"), EventTypeInput(key="purchase.completed", name="Purchase completed")
    )


def _rule(name: str, **fields) -> Rule:  # type: ignore[no-untyped-def]
    values = {
        "name": name,
        "trigger_source": "customer_event",
        "trigger_type": "purchase.completed",
        "actions": ACTIONS,
        **fields,
    }
    return services.create_rule(Actor.system("test"), RuleInput(**values))


def test_the_list_shows_rules_in_order_with_their_runs(web, charlie, purchase_type):  # type: ignore[no-untyped-def]
    first = _rule("First", conditions={"field": "tags", "operator": "contains", "value": "vip"})
    _rule("Second", stop_processing=True)
    customer = CustomerFactory(name="Ivy")
    runner.run_rules(
        Occurrence(
            source="customer_event",
            type="purchase.completed",
            ref="customer_event:x",
            customer_id=customer.public_id,
            occurred_at=clock.now().isoformat(),
            received_at=clock.now().isoformat(),
        )
    )

    response = web(charlie).get("/automation/")
    page = text_of(response)

    assert response.status_code == 200
    assert page.index("First") < page.index("Second")
    assert "When <span class=\"mono\">purchase.completed</span> and tags contains 'vip'" in page
    assert "Then Tag +big spender" in page
    assert "Stops later rules" in page
    assert f'href="/automation/runs/?rule={first.public_id}"' in page
    assert 'aria-current="page">Automation</a>' in page
    assert "New rule" not in page
    assert "Switch off" not in page


def test_a_manager_adds_a_rule_from_the_editor(web, bob, purchase_type):  # type: ignore[no-untyped-def]
    client = web(bob)

    editor = text_of(client.get("/automation/new/"))
    added = client.post("/automation/new/", FORM)

    assert "purchase.completed — Purchase completed" in editor
    assert "case.opened — A case was opened" in editor
    assert added.status_code == 302
    rule = Rule.objects.get()
    assert (rule.name, rule.trigger_type, rule.conditions["value"], rule.actions[0]["add"]) == (
        "Big spenders",
        "purchase.completed",
        500,
        ["big spender"],
    )


def test_the_builder_suggests_the_names_actions_take(web, bob, purchase_type):  # type: ignore[no-untyped-def]
    # given: a team, a goal with a category, and a user who left
    TeamFactory(name="Billing")
    CategoryFactory(key="double-charge", name="Double charge", goal=GoalFactory(key="care"))
    User.objects.create_user(username="gone", is_active=False)

    # when
    page = web(bob).get("/automation/new/").content.decode()

    # then: the builder's configuration lists them as the actions look them up
    found = re.search(r'<script id="rule-builder-config" type="application/json">(.*?)</script>', page, re.S)
    assert found is not None
    suggest = json.loads(found.group(1))["suggest"]
    usernames = [u["value"] for u in suggest["users"]]
    assert "bob" in usernames
    assert "gone" not in usernames
    assert {"value": "Billing", "label": "Billing"} in suggest["teams"]
    assert {"value": "care", "label": "Care"} in suggest["goals"]
    assert {"value": "double-charge", "label": "Double charge"} in suggest["categories"]


def test_check_previews_without_saving(web, bob, purchase_type):  # type: ignore[no-untyped-def]
    response = web(bob).post("/automation/new/", {**FORM, "save": "", "preview": "1"})
    page = text_of(response)

    assert response.status_code == 200
    assert "The rule is valid." in page
    assert "event.properties.total gte 500" in page
    assert "Tag +big spender" in page
    assert Rule.objects.count() == 0


def test_a_refused_save_keeps_what_was_typed_and_names_each_path(web, bob, purchase_type):  # type: ignore[no-untyped-def]
    bad_actions = json.dumps([{"type": "tag", "add": ["ok"]}, {"type": "webhook", "url": "nope"}])
    bad_conditions = '{"all": [{"field": "tags", "operator": "in", "value": "vip"}]}'

    response = web(bob).post("/automation/new/", {**FORM, "actions": bad_actions, "conditions": bad_conditions})
    page = text_of(response)

    assert response.status_code == 422
    assert "actions[1].url: must be an http:// or https:// URL with a host" in page
    assert 'conditions.all[0].value: "in" takes a list of values' in page
    assert bad_conditions in page
    assert "Big spenders" in page
    assert '"url": "nope"' in page
    assert Rule.objects.count() == 0


def test_json_that_does_not_parse_is_refused_on_its_field(web, bob, purchase_type):  # type: ignore[no-untyped-def]
    response = web(bob).post("/automation/new/", {**FORM, "actions": "[{"})

    assert response.status_code == 422
    assert "not JSON: Expecting property name enclosed in double quotes at line 1, column 3" in text_of(response)
    assert Rule.objects.count() == 0


def test_editing_moving_switching_and_deleting(web, bob, purchase_type):  # type: ignore[no-untyped-def]
    client = web(bob)
    first, second = _rule("First"), _rule("Second")

    edited = client.post(f"/automation/{second.public_id}/", {**FORM, "name": "Renamed", "conditions": ""})
    moved = client.post(f"/automation/{second.public_id}/up/")
    switched = client.post(f"/automation/{first.public_id}/off/")
    deleted = client.post(f"/automation/{first.public_id}/delete/")

    assert [r.status_code for r in (edited, moved, switched, deleted)] == [302, 302, 302, 302]
    second.refresh_from_db()
    assert (second.name, second.conditions, second.position) == ("Renamed", None, 1)
    assert list(Rule.objects.values_list("name", flat=True)) == ["Renamed"]
    assert AuditEntry.objects.filter(action="automation_rule.deactivated").count() == 1


def test_duplicate_opens_the_copy_in_the_editor(web, bob, purchase_type):  # type: ignore[no-untyped-def]
    rule = _rule("Big spenders")
    client = web(bob)

    listed = text_of(client.get("/automation/"))
    response = client.post(f"/automation/{rule.public_id}/duplicate/")

    copy = Rule.objects.exclude(pk=rule.pk).get()
    assert "Duplicate Big spenders" in listed
    assert response.status_code == 302
    assert response["Location"] == f"/automation/{copy.public_id}/"
    assert (copy.name, copy.is_active, copy.actions) == ("Copy of Big spenders", False, rule.actions)
    assert "Copy of Big spenders" in text_of(client.get(response["Location"], follow=True))


def test_readers_see_a_rule_but_cannot_change_it(web, alice, purchase_type):  # type: ignore[no-untyped-def]
    rule = _rule("Only bob")
    client = web(alice)
    audits = AuditEntry.objects.count()

    page = text_of(client.get(f"/automation/{rule.public_id}/"))
    refused = [
        client.post(f"/automation/{rule.public_id}/", {**FORM, "name": "Mine"}),
        client.post(f"/automation/{rule.public_id}/off/"),
        client.post(f"/automation/{rule.public_id}/delete/"),
        client.get("/automation/new/"),
    ]

    assert "Only bob" in page
    assert "Add the rule" not in page
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    rule.refresh_from_db()
    assert (rule.name, rule.is_active, AuditEntry.objects.count()) == ("Only bob", True, audits)


def test_the_run_log_filters_and_shows_one_run(web, charlie, purchase_type):  # type: ignore[no-untyped-def]
    big = _rule("Big", conditions={"field": "event.properties.total", "operator": "gte", "value": 500})
    customer = CustomerFactory(name="Ivy")
    for n, total in enumerate((100, 900)):
        runner.run_rules(
            Occurrence(
                source="customer_event",
                type="purchase.completed",
                ref=f"customer_event:{n}",
                customer_id=customer.public_id,
                occurred_at=clock.now().isoformat(),
                received_at=clock.now().isoformat(),
                properties={"total": total},
            )
        )
    client = web(charlie)

    everything = text_of(client.get("/automation/runs/"))
    skipped = client.get(f"/automation/runs/?status=skipped&rule={big.public_id}")
    (skipped_run,) = skipped.context["runs"]
    detail = text_of(client.get(f"/automation/runs/{skipped_run.public_id}/"))

    assert everything.count('<span class="badge badge-muted">Skipped (conditions not met)</span>') == 1
    assert everything.count("tag: succeeded") == 1
    assert skipped_run.event_ref == "customer_event:0"
    assert "event.properties.total (100) gte 500 → False" in detail
    assert "The conditions did not hold: no action ran." in detail
    assert '"total": 100' in detail
    assert client.get("/automation/runs/rrun_none/").status_code == 404


def test_trying_the_saved_rule_on_a_customer(web, charlie, purchase_type):  # type: ignore[no-untyped-def]
    rule = _rule("Big", conditions={"field": "event.properties.total", "operator": "gte", "value": 500})
    customer = CustomerFactory(name="Ivy")
    client = web(charlie)

    matched = client.post(
        f"/automation/{rule.public_id}/try/", {"customer": customer.public_id, "properties": '{"total": 900}'}
    )
    unknown = client.post(f"/automation/{rule.public_id}/try/", {"customer": "cus_nobody", "properties": "[1]"})

    page = text_of(matched)
    assert matched.status_code == 200
    assert "It matches." in page
    assert "event.properties.total (900) gte 500 → True" in page
    assert "Tag +big spender" in page
    assert unknown.status_code == 422
    assert "must be a JSON object" in text_of(unknown)
    assert Rule.objects.get().runs.count() == 0
