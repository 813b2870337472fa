"""/api/v1 routing: queues and members, rules and their order, the preview, agents and availability. Bad input is a
precise 4xx naming the field; charlie (analyst) reads but every change is refused and nothing changes."""

from __future__ import annotations

import pytest

from cxloop.cases.models import AgentAvailability, Queue, QueueMember, RoutingRule
from cxloop.cases.services.routing import CONDITION_KEYS
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory, QueueFactory, QueueMemberFactory, RoutingRuleFactory
from tests.customers.factories import CustomerFactory
from tests.interactions.factories import ThreadFactory

pytestmark = pytest.mark.django_db


def error_of(response) -> tuple[int, str, dict[str, str]]:  # type: ignore[no-untyped-def]
    body = response.json()["error"]
    return response.status_code, body["code"], body["fields"]


# --- queues ------------------------------------------------------------------------------------------------------


def test_create_a_queue_with_members_and_read_it_back(api, bob, alice, team_a):
    created = api.post(
        "/queues",
        bob,
        {
            "key": "billing",
            "name": "Billing",
            "team": team_a.pk,
            "assignment_mode": "round_robin",
            "is_default": True,
            "members": ["bob", "alice"],
        },
    )

    assert created.status_code == 201, created.content
    expected = {
        "id": Queue.objects.get(key="billing").pk,
        "key": "billing",
        "name": "Billing",
        "team": team_a.pk,
        "team_name": "Team A",
        "assignment_mode": "round_robin",
        "is_default": True,
        "members": ["alice", "bob"],
        "last_assigned": None,
    }
    assert created.json() == expected
    assert api.get("/queues/billing", alice).json() == expected


def test_list_queues_in_a_fixed_number_of_queries(api, charlie, alice, bob, django_assert_max_num_queries):
    for n in range(5):
        queue = QueueFactory(key=f"q{n}", name=f"Queue {n}")
        QueueMemberFactory(queue=queue, user=alice.user)
        QueueMemberFactory(queue=queue, user=bob.user)

    with django_assert_max_num_queries(6):
        response = api.get("/queues", charlie)

    assert response.status_code == 200
    assert [(q["key"], q["members"]) for q in response.json()] == [(f"q{n}", ["alice", "bob"]) for n in range(5)]


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        (
            {"key": "Bad key", "name": "X"},
            422,
            "validation_error",
            {"key": "lower-case letters, digits, '_' or '-', starting with a letter"},
        ),
        (
            {"key": "x", "name": "X", "assignment_mode": "random"},
            422,
            "validation_error",
            {"assignment_mode": "must be one of manual, round_robin, load_balanced"},
        ),
        (
            {"key": "x", "name": "X", "members": ["nobody"]},
            422,
            "validation_error",
            {"members": "unknown username: nobody"},
        ),
        (
            {"key": "x", "name": "X", "members": ["charlie"]},
            422,
            "validation_error",
            {"members": "charlie cannot take work"},
        ),
        ({"key": "x", "name": "X", "team": 999999}, 422, "validation_error", {"team": "unknown team"}),
        ({"key": "taken", "name": "X"}, 409, "conflict", {"key": "already exists"}),
    ],
)
def test_bad_queues_are_refused_with_the_field(api, bob, charlie, body, status, code, fields):
    QueueFactory(key="taken")

    response = api.post("/queues", bob, body)

    assert error_of(response) == (status, code, fields)
    assert list(Queue.objects.values_list("key", flat=True)) == ["taken"]


def test_update_a_queue_and_clear_its_team(api, bob, team_a):
    QueueFactory(key="q", team=team_a)

    response = api.patch("/queues/q", bob, {"name": "Renamed", "clear_team": True, "assignment_mode": "load_balanced"})

    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("name", "team", "assignment_mode")} == {
        "name": "Renamed",
        "team": None,
        "assignment_mode": "load_balanced",
    }


def test_a_queue_that_rules_use_is_not_deleted(api, bob):
    queue = QueueFactory(key="q")
    RoutingRuleFactory(queue=queue, name="Uses q")
    QueueFactory(key="spare")

    refused = api.delete("/queues/q", bob)
    deleted = api.delete("/queues/spare", bob)

    assert error_of(refused) == (409, "queue_in_use", {"queue": "used by rules"})
    assert deleted.status_code == 204
    assert list(Queue.objects.values_list("key", flat=True)) == ["q"]
    assert api.get("/queues/spare", bob).status_code == 404


def test_members_are_set_added_and_removed(api, bob, alice):
    QueueFactory(key="q")

    put = api._call("put", "/queues/q/members", bob, {"usernames": ["alice"]})
    added = api.post("/queues/q/members", bob, {"username": "bob"})
    removed = api.delete("/queues/q/members/alice", bob)
    not_member = api.delete("/queues/q/members/alice", bob)

    assert (put.json()["members"], added.json()["members"], removed.json()["members"]) == (
        ["alice"],
        ["alice", "bob"],
        ["bob"],
    )
    assert not_member.status_code == 404
    assert list(QueueMember.objects.values_list("user__username", flat=True)) == ["bob"]


# --- rules -------------------------------------------------------------------------------------------------------


def test_create_reorder_change_and_delete_rules(api, bob):
    QueueFactory(key="q")
    first = api.post("/routing/rules", bob, {"name": "Chats", "queue": "q", "conditions": {"channels": ["chat"]}})
    second = api.post(
        "/routing/rules",
        bob,
        {"name": "German", "queue": "q", "applies_to": "conversations", "conditions": {"languages": ["DE"]}},
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == {
        "id": second.json()["id"],
        "name": "German",
        "position": 2,
        "is_active": True,
        "applies_to": "conversations",
        "conditions": {"languages": ["de"]},
        "queue": "q",
    }

    ordered = api._call("put", "/routing/rules/order", bob, {"ids": [second.json()["id"], first.json()["id"]]})
    changed = api.patch(f"/routing/rules/{first.json()['id']}", bob, {"is_active": False, "name": "Web chats"})
    deleted = api.delete(f"/routing/rules/{second.json()['id']}", bob)

    assert [(r["name"], r["position"]) for r in ordered.json()] == [("German", 1), ("Chats", 2)]
    assert (changed.json()["name"], changed.json()["is_active"]) == ("Web chats", False)
    assert deleted.status_code == 204
    assert [r["name"] for r in api.get("/routing/rules", bob).json()] == ["Web chats"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "R", "queue": "nope"}, {"queue": "unknown queue"}),
        ({"name": "R", "queue": "q", "conditions": {"channels": ["fax"]}}, {"conditions.channels": "unknown: fax"}),
        (
            {"name": "R", "queue": "q", "conditions": {"vip": True}},
            {"conditions.vip": f"unknown condition; known: {', '.join(CONDITION_KEYS)}"},
        ),
        ({"name": "R", "queue": "q", "conditions": ["channels"]}, {"conditions": "must be a JSON object"}),
        ({"name": "R", "queue": "q", "conditions": {"goals": ["nope"]}}, {"conditions.goals": "unknown: nope"}),
        (
            {"name": "R", "queue": "q", "conditions": {"categories": ["nope"]}},
            {"conditions.categories": "unknown: nope"},
        ),
        (
            {"name": "R", "queue": "q", "applies_to": "emails"},
            {"applies_to": "must be one of cases, conversations, both"},
        ),
    ],
)
def test_bad_rules_are_refused_with_the_field(api, bob, body, fields):
    QueueFactory(key="q")

    response = api.post("/routing/rules", bob, body)

    assert error_of(response) == (422, "validation_error", fields)
    assert not RoutingRule.objects.exists()


def test_a_reorder_must_name_every_rule(api, bob):
    first, second = RoutingRuleFactory(), RoutingRuleFactory()

    response = api._call("put", "/routing/rules/order", bob, {"ids": [second.pk, second.pk]})

    assert error_of(response) == (422, "validation_error", {"ids": f"list every rule once; missing {first.pk}"})
    assert list(RoutingRule.objects.order_by("position").values_list("pk", flat=True)) == [first.pk, second.pk]


def test_an_unknown_rule_is_404(api, bob):
    assert api.get("/routing/rules/424242", bob).status_code == 404
    assert api.patch("/routing/rules/424242", bob, {"name": "x"}).status_code == 404


# --- preview -----------------------------------------------------------------------------------------------------


def test_preview_explains_the_route(api, charlie, alice):
    vip = QueueFactory(key="vip", name="VIP", assignment_mode="round_robin")
    QueueMemberFactory(queue=vip, user=alice.user)
    QueueFactory(key="general", name="General", is_default=True)
    RoutingRuleFactory(name="SMS", queue=QueueFactory(key="sms"), conditions={"channels": ["sms"]}, position=1)
    RoutingRuleFactory(name="VIP", queue=vip, conditions={"customer_tiers": ["gold"]}, position=2)
    customer = CustomerFactory(locale="fr-CA", attributes={"tier": "Gold"})

    response = api.post("/routing/preview", charlie, {"channel": "email", "customer_id": customer.public_id})

    assert response.status_code == 200
    assert response.json() == {
        "queue": "vip",
        "rule": "VIP",
        "assignee": "alice",
        "summary": "To VIP by rule 'VIP', assigned to alice.",
        "checks": [
            {
                "rule": "SMS",
                "rule_id": response.json()["checks"][0]["rule_id"],
                "matched": False,
                "reason": "channel 'email' is not one of sms",
            },
            {
                "rule": "VIP",
                "rule_id": response.json()["checks"][1]["rule_id"],
                "matched": True,
                "reason": "matched on customer_tiers",
            },
        ],
        "language": "fr",
        "customer_tier": "Gold",
    }
    vip.refresh_from_db()
    assert vip.last_assigned_user is None


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"channel": "fax"},
            {"channel": "must be one of email, sms, whatsapp, chat, social, phone, survey, event, note"},
        ),
        ({"customer_id": "cus_nope"}, {"customer_id": "unknown customer"}),
        ({"target": "emails"}, {"target": "must be one of cases, conversations"}),
        ({"sentiment": 3}, {"sentiment": "a number from -1 to 1"}),
    ],
)
def test_bad_preview_input_is_refused_with_the_field(api, charlie, body, fields):
    assert error_of(api.post("/routing/preview", charlie, body)) == (422, "validation_error", fields)


# --- agents ------------------------------------------------------------------------------------------------------


def test_agents_with_their_load(api, charlie, alice, bob, django_assert_max_num_queries):
    CaseFactory(owner=alice.user, status="open")
    ThreadFactory(assigned_to=alice.user, status="open")
    AgentAvailability.objects.create(user=bob.user, status="offline", capacity=10)

    with django_assert_max_num_queries(5):
        response = api.get("/agents", charlie)

    assert response.status_code == 200
    assert response.json() == [
        {
            "username": "alice",
            "name": "alice",
            "team": "Team A",
            "status": "available",
            "capacity": 20,
            "open_cases": 1,
            "open_conversations": 1,
            "load": 2,
            "has_room": True,
        },
        {
            "username": "bob",
            "name": "bob",
            "team": "Team A",
            "status": "offline",
            "capacity": 10,
            "open_cases": 0,
            "open_conversations": 0,
            "load": 0,
            "has_room": False,
        },
    ]


def test_an_agent_sets_their_own_availability(api, alice):
    response = api._call("put", "/agents/alice/availability", alice, {"status": "away", "capacity": 4})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["capacity"]) == ("away", 4)
    assert api.get("/agents/alice/availability", alice).json()["status"] == "away"
    assert AuditEntry.objects.filter(action="agent.availability_changed", object_id="alice").count() == 1


def test_only_a_supervisor_sets_someone_elses_availability(api, alice, bob):
    refused = api._call("put", "/agents/bob/availability", alice, {"status": "offline"})
    allowed = api._call("put", "/agents/alice/availability", bob, {"status": "offline"})

    assert error_of(refused)[:2] == (403, "permission_denied")
    assert allowed.json()["status"] == "offline"
    assert list(AgentAvailability.objects.values_list("user__username", "status")) == [("alice", "offline")]


@pytest.mark.parametrize(
    ("body", "status", "fields"),
    [
        ({"status": "busy"}, 422, {"status": "must be one of available, away, offline"}),
        ({"capacity": 1000}, 422, {"capacity": "from 0 to 500"}),
    ],
)
def test_bad_availability_is_refused_with_the_field(api, alice, body, status, fields):
    response = api._call("put", "/agents/alice/availability", alice, body)

    assert error_of(response) == (status, "validation_error", fields)
    assert not AgentAvailability.objects.exists()


def test_unknown_agents_are_404(api, bob, charlie):
    assert api.get("/agents/nobody/availability", bob).status_code == 404
    assert api.get("/agents/charlie/availability", bob).status_code == 404  # an analyst takes no work
    assert api._call("put", "/agents/nobody/availability", bob, {"status": "away"}).status_code == 404


# --- the outsider ------------------------------------------------------------------------------------------------


def test_charlie_reads_but_changes_nothing(api, charlie):
    queue = QueueFactory(key="q")
    rule = RoutingRuleFactory(queue=queue)
    audit = AuditEntry.objects.count()

    reads = [api.get("/queues", charlie), api.get("/routing/rules", charlie), api.get("/agents", charlie)]
    writes = [
        api.post("/queues", charlie, {"key": "x", "name": "X"}),
        api.patch("/queues/q", charlie, {"name": "Mine"}),
        api.delete("/queues/q", charlie),
        api._call("put", "/queues/q/members", charlie, {"usernames": []}),
        api.post("/routing/rules", charlie, {"name": "x", "queue": "q"}),
        api.patch(f"/routing/rules/{rule.pk}", charlie, {"is_active": False}),
        api.delete(f"/routing/rules/{rule.pk}", charlie),
        api._call("put", "/routing/rules/order", charlie, {"ids": [rule.pk]}),
        api._call("put", "/agents/charlie/availability", charlie, {"status": "away"}),
    ]

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert [error_of(r)[:2] for r in writes] == [(403, "permission_denied")] * len(writes)
    assert list(Queue.objects.values_list("key", "name")) == [("q", "Q")]
    assert list(RoutingRule.objects.values_list("pk", "is_active")) == [(rule.pk, True)]
    assert (AuditEntry.objects.count(), AgentAvailability.objects.count()) == (audit, 0)
