"""/api/v1/automation: rules CRUD with errors by path, reorder, switch on/off, the run log with filters and cursor
pagination, one run, the triggers; agents and analysts may read but not change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.automation import runner
from cxloop.automation.models import Rule, RuleRun
from cxloop.core import clock
from cxloop.privacy.models import AuditEntry
from tests.automation.conftest import purchase

BODY = {
    "name": "Big buyers",
    "trigger": {"source": "customer_event", "type": "purchase.completed"},
    "conditions": {"field": "event.properties.amount", "operator": "gte", "value": 100},
    "actions": [{"type": "tag", "add": ["big"]}],
    "stop_processing": True,
}


def _put(client, path, member, body):
    return client.put(f"/api/v1{path}", data=body, content_type="application/json", **member.headers())


def test_create_read_change_and_delete_a_rule(api, bob, purchase_type):
    created = api.post("/automation/rules", bob, BODY)
    rule_id = created.json()["id"]
    changed = api.patch(f"/automation/rules/{rule_id}", bob, {"name": "Huge buyers", "conditions": None})
    off = api.post(f"/automation/rules/{rule_id}/deactivate", bob)
    on = api.post(f"/automation/rules/{rule_id}/activate", bob)
    got = api.get(f"/automation/rules/{rule_id}", bob)

    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("name", "trigger", "position", "is_active", "stop_processing")} == {
        "name": "Big buyers",
        "trigger": {"source": "customer_event", "type": "purchase.completed", "label": ""},
        "position": 1,
        "is_active": True,
        "stop_processing": True,
    }
    assert created.json()["action_summaries"] == ["Tag +big"]
    assert (created.json()["created_by"], created.json()["run_count"]) == ("bob", 0)
    assert (changed.json()["name"], changed.json()["conditions"]) == ("Huge buyers", None)
    assert (off.json()["is_active"], on.json()["is_active"]) == (False, True)
    assert got.json()["name"] == "Huge buyers"
    assert api.delete(f"/automation/rules/{rule_id}", bob).status_code == 204
    assert api.get(f"/automation/rules/{rule_id}", bob).status_code == 404


def test_a_bad_rule_is_a_422_with_each_path(api, bob, purchase_type):
    body = {
        **BODY,
        "conditions": {"any": [{"field": "nowhere", "operator": "eq", "value": 1}]},
        "actions": [{"type": "tag", "add": ["ok"]}, {"type": "webhook", "url": "nope"}],
    }

    response = api.post("/automation/rules", bob, body)

    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "conditions.any[0].field": (
            "a field: profile.<name>, attributes.<key>, event.type, event.at, event.properties.<key> or tags"
        ),
        "actions[1].url": "must be an http:// or https:// URL with a host",
    }
    assert Rule.objects.count() == 0


def test_reorder_and_list_in_order(api, client, bob, make_rule):
    a, b = make_rule(name="a"), make_rule(name="b")

    response = _put(client, "/automation/rules/order", bob, {"ids": [b.public_id, a.public_id]})
    refused = _put(client, "/automation/rules/order", bob, {"ids": [b.public_id]})

    assert [r["name"] for r in response.json()] == ["b", "a"]
    assert [r["name"] for r in api.get("/automation/rules", bob).json()] == ["b", "a"]
    assert refused.status_code == 422


def test_the_run_log_filters_and_pages_newest_first(api, charlie, make_rule, customer):
    rule = make_rule(conditions={"field": "event.properties.amount", "operator": "gt", "value": 10})
    for n in range(5):
        runner.run_rules(purchase(customer, n, amount=n * 10))
    other = make_rule(name="other")
    runner.run_rules(purchase(customer, 99, amount=1))
    for offset, run in enumerate(RuleRun.objects.order_by("id")):
        run.at = clock.now() - timedelta(minutes=100 - offset)
        run.save(update_fields=["at"])

    first = api.get(f"/automation/runs?rule={rule.public_id}&limit=2", charlie).json()
    second = api.get(f"/automation/runs?rule={rule.public_id}&limit=2&cursor={first['next_cursor']}", charlie).json()
    skipped = api.get("/automation/runs?status=skipped", charlie).json()
    by_other = api.get(f"/automation/runs?rule={other.public_id}&customer={customer.public_id}", charlie).json()
    bad = api.get("/automation/runs?status=maybe", charlie)

    assert [r["event_ref"] for r in first["items"] + second["items"]] == [
        "customer_event:p-99",
        "customer_event:p-4",
        "customer_event:p-3",
        "customer_event:p-2",
    ]
    assert [r["event_ref"] for r in skipped["items"]] == [
        "customer_event:p-99",
        "customer_event:p-1",
        "customer_event:p-0",
    ]
    assert [(r["rule"]["name"], r["status"]) for r in by_other["items"]] == [("other", "succeeded")]
    assert bad.status_code == 422


def test_one_run_shows_why_and_each_outcome(api, charlie, make_rule, customer):
    make_rule([{"type": "tag", "add": ["buyer"]}])
    (run,) = runner.run_rules(purchase(customer))

    body = api.get(f"/automation/runs/{run.public_id}", charlie).json()

    assert {k: body[k] for k in ("status", "customer", "customer_name", "explanation", "trigger_type")} == {
        "status": "succeeded",
        "customer": customer.public_id,
        "customer_name": "Maya Patel",
        "explanation": ["no conditions → true"],
        "trigger_type": "purchase.completed",
    }
    assert [(o["type"], o["status"], o["summary"]) for o in body["outcomes"]] == [("tag", "succeeded", "Tag +buyer")]
    assert (body["event"]["source"], body["event"]["occurred_at"], body["event"]["properties"]) == (
        "customer_event",
        "2026-03-02T09:00:00+00:00",
        {},
    )
    assert api.get("/automation/runs/rrun_nothing", charlie).status_code == 404


def test_triggers_list_registered_types_then_domain_events(api, charlie, purchase_type):
    triggers = api.get("/automation/triggers", charlie).json()

    sources = [t["source"] for t in triggers]
    assert {"source": "customer_event", "type": "purchase.completed", "label": "Purchase completed"} in triggers
    assert {"source": "domain_event", "type": "case.opened", "label": "A case was opened"} in triggers
    assert sources == sorted(sources)  # customer events first


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_agents_and_analysts_read_but_may_not_change(api, request, who, make_rule):
    member = request.getfixturevalue(who)
    rule = make_rule()
    audits = AuditEntry.objects.count()

    listed = api.get("/automation/rules", member)
    refused = [
        api.post("/automation/rules", member, BODY),
        api.patch(f"/automation/rules/{rule.public_id}", member, {"name": "x"}),
        api.post(f"/automation/rules/{rule.public_id}/deactivate", member),
        api.delete(f"/automation/rules/{rule.public_id}", member),
    ]

    assert (listed.status_code, [r["id"] for r in listed.json()]) == (200, [rule.public_id])
    assert {r.status_code for r in refused} == {403}
    rule.refresh_from_db()
    assert (Rule.objects.count(), rule.name, rule.is_active, AuditEntry.objects.count()) == (
        1,
        "Rule 1",
        True,
        audits,
    )


def test_trying_a_rule_writes_nothing_and_says_why(api, charlie, make_rule, customer):
    rule = make_rule(
        [{"type": "tag", "add": ["big"]}],
        conditions={"field": "event.properties.total", "operator": "gte", "value": 100},
    )

    yes = api.post(
        f"/automation/rules/{rule.public_id}/try",
        charlie,
        {"customer": customer.public_id, "properties": {"total": 150}},
    )
    no = api.post(f"/automation/rules/{rule.public_id}/try", charlie, {"customer": customer.public_id})
    nobody = api.post(f"/automation/rules/{rule.public_id}/try", charlie, {"customer": "cus_nobody"})

    assert yes.json() == {
        "matches": True,
        "explanation": ["event.properties.total (150) gte 100 → True"],
        "actions": ["Tag +big"],
    }
    assert no.json() == {
        "matches": False,
        "explanation": ["event.properties.total (missing) gte 100 → False"],
        "actions": [],
    }
    assert nobody.status_code == 404
    assert (RuleRun.objects.count(), customer.tags.count()) == (0, 1)


def test_runs_in_a_period_given_in_any_offset_iso_8601_allows(api, charlie):  # type: ignore[no-untyped-def]
    response = api.get("/automation/runs?until=0750-05-22T18:58:04-23:37", charlie)

    assert (response.status_code, response.json()["items"]) == (200, [])


def test_duplicate_answers_201_with_the_switched_off_copy(api, bob, purchase_type):
    rule_id = api.post("/automation/rules", bob, BODY).json()["id"]

    copied = api.post(f"/automation/rules/{rule_id}/duplicate", bob)

    assert copied.status_code == 201, copied.content
    body = copied.json()
    assert body["id"] != rule_id
    assert body["name"] == f"Copy of {BODY['name']}"
    assert body["is_active"] is False
    assert body["actions"] == api.get(f"/automation/rules/{rule_id}", bob).json()["actions"]
