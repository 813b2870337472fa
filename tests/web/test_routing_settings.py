"""Routing settings pages: queues with members and mode, rules in order with the conditions editor, the preview, and
the agent's own availability page. charlie (analyst) may look but every change is refused and nothing changes."""

from __future__ import annotations

import html
import re

import pytest

from cxloop.cases.models import AgentAvailability, Queue, QueueMember, RoutingRule
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import QueueFactory, QueueMemberFactory, RoutingRuleFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def test_add_a_queue_with_members_then_change_its_mode(web, bob, alice, team_a):
    client = web(bob)

    added = client.post(
        "/settings/routing/",
        {
            "key": "billing",
            "name": "Billing",
            "team": str(team_a.pk),
            "assignment_mode": "round_robin",
            "members": ["alice", "bob"],
        },
    )
    changed = client.post(
        "/settings/routing/queues/billing/save/",
        {
            "billing-name": "Billing desk",
            "billing-team": "",
            "billing-assignment_mode": "load_balanced",
            "billing-is_default": "on",
            "billing-members": ["alice"],
        },
    )

    assert (added.status_code, changed.status_code) == (302, 302)
    queue = Queue.objects.get(key="billing")
    assert (queue.name, queue.team, queue.assignment_mode, queue.is_default) == (
        "Billing desk",
        None,
        "load_balanced",
        True,
    )
    assert list(QueueMember.objects.values_list("user__username", flat=True)) == ["alice"]
    page = text_of(client.get("/settings/routing/"))
    assert "Billing desk" in page
    assert "Least loaded agent" in page


def test_a_bad_queue_keeps_the_form_with_the_reason(web, bob):
    QueueFactory(key="taken")

    response = web(bob).post("/settings/routing/", {"key": "taken", "name": "Again", "assignment_mode": "manual"})

    assert response.status_code == 422
    page = text_of(response)
    assert "already exists" in page
    assert 'value="Again"' in page
    assert Queue.objects.count() == 1


def test_add_a_rule_with_conditions_then_edit_and_reorder(web, bob):
    QueueFactory(key="vip", name="VIP")
    first = RoutingRuleFactory(name="First", queue=QueueFactory(key="general"))
    client = web(bob)

    added = client.post(
        "/settings/routing/rules/",
        {
            "name": "Angry VIPs",
            "queue": "vip",
            "applies_to": "both",
            "is_active": "on",
            "channels": ["email", "chat"],
            "languages": "DE, fr",
            "keywords": "refund, card blocked",
            "customer_tiers": "gold",
            "sentiment_below": "-0.4",
        },
    )
    rule = RoutingRule.objects.get(name="Angry VIPs")
    moved = client.post(f"/settings/routing/rules/{rule.pk}/up/")
    edited = client.post(
        f"/settings/routing/rules/{rule.pk}/",
        {"name": "VIPs", "queue": "vip", "applies_to": "cases", "is_active": "on", "priorities": ["urgent"]},
    )

    assert (added.status_code, moved.status_code, edited.status_code) == (302, 302, 302)
    rule.refresh_from_db()
    assert (rule.name, rule.applies_to, rule.conditions) == ("VIPs", "cases", {"priorities": ["urgent"]})
    assert list(RoutingRule.objects.order_by("position").values_list("pk", flat=True)) == [rule.pk, first.pk]
    page = text_of(client.get("/settings/routing/rules/"))
    assert "priorities: urgent" in page
    edit_page = text_of(client.get(f"/settings/routing/rules/{rule.pk}/"))
    assert 'value="VIPs"' in edit_page


def test_conditions_the_service_refuses_show_on_their_field(web, bob):
    QueueFactory(key="chats")

    response = web(bob).post(
        "/settings/routing/rules/",
        {"name": "Bad", "queue": "chats", "applies_to": "both", "languages": "english"},
    )

    assert response.status_code == 422
    assert "two or three letters" in text_of(response)
    assert not RoutingRule.objects.exists()


def test_switch_off_and_delete_a_rule(web, bob):
    rule = RoutingRuleFactory(name="Old")
    client = web(bob)

    client.post(f"/settings/routing/rules/{rule.pk}/off/")
    rule.refresh_from_db()
    assert rule.is_active is False
    client.post(f"/settings/routing/rules/{rule.pk}/delete/")

    assert not RoutingRule.objects.exists()


def test_the_preview_explains_where_work_would_go(web, charlie, alice):
    vip = QueueFactory(key="vip", name="VIP", assignment_mode="round_robin")
    QueueMemberFactory(queue=vip, user=alice.user)
    RoutingRuleFactory(name="Gold", queue=vip, conditions={"customer_tiers": ["gold"]})
    customer = CustomerFactory(attributes={"tier": "gold"}, locale="de-DE")

    response = web(charlie).get(
        "/settings/routing/preview/", {"target": "cases", "channel": "email", "customer": customer.public_id}
    )

    assert response.status_code == 200
    page = text_of(response)
    assert "To VIP by rule 'Gold', assigned to alice." in page
    assert "Language: de" in page
    vip.refresh_from_db()
    assert vip.last_assigned_user is None


def test_the_preview_names_an_unknown_customer(web, charlie):
    response = web(charlie).get("/settings/routing/preview/", {"target": "cases", "customer": "cus_nope"})

    assert response.status_code == 422
    assert "unknown customer" in text_of(response)


def test_an_agent_sets_their_own_availability(web, alice):
    client = web(alice)

    page = text_of(client.get("/me/availability/"))
    saved = client.post("/me/availability/", {"status": "away", "capacity": "6"})

    assert "0 of 20" in page
    assert saved.status_code == 302
    row = AgentAvailability.objects.get(user=alice.user)
    assert (row.status, row.capacity) == ("away", 6)


def test_a_bad_capacity_keeps_the_form(web, alice):
    response = web(alice).post("/me/availability/", {"status": "away", "capacity": "9999"})

    assert response.status_code == 422
    assert not AgentAvailability.objects.exists()


def test_charlie_may_look_but_changes_nothing(web, charlie):
    queue = QueueFactory(key="q", name="Q")
    rule = RoutingRuleFactory(name="R", queue=queue)
    client = web(charlie)
    audit = AuditEntry.objects.count()

    looks = [client.get(url).status_code for url in ("/settings/routing/", "/settings/routing/rules/")]
    page = text_of(client.get("/settings/routing/"))
    changes = [
        client.post("/settings/routing/", {"key": "x", "name": "X", "assignment_mode": "manual"}).status_code,
        client.post("/settings/routing/queues/q/save/", {"q-name": "Mine", "q-assignment_mode": "manual"}).status_code,
        client.post("/settings/routing/queues/q/delete/").status_code,
        client.post("/settings/routing/rules/", {"name": "x", "queue": "q", "applies_to": "both"}).status_code,
        client.post(
            f"/settings/routing/rules/{rule.pk}/", {"name": "x", "queue": "q", "applies_to": "both"}
        ).status_code,
        client.post(f"/settings/routing/rules/{rule.pk}/off/").status_code,
        client.post(f"/settings/routing/rules/{rule.pk}/delete/").status_code,
        client.get("/me/availability/").status_code,
        client.post("/me/availability/", {"status": "away", "capacity": "3"}).status_code,
    ]

    assert looks == [200, 200]
    assert "You may look" in page
    assert changes == [403] * len(changes)
    assert list(Queue.objects.values_list("key", "name")) == [("q", "Q")]
    assert list(RoutingRule.objects.values_list("name", "is_active")) == [("R", True)]
    assert (AuditEntry.objects.count(), AgentAvailability.objects.count()) == (audit, 0)


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/settings/routing/")

    assert response.status_code == 302
    assert "/login/" in response["Location"]
