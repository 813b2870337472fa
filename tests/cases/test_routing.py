"""Routing: rules pick the queue (first match in order, else the default queue), the queue's mode picks the agent
among members who are available and under capacity; new inbound conversations are routed from message.received;
configuration is checked precisely and needs cases.configure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest

from cxloop.accounts.models import User
from cxloop.cases.models import AgentAvailability, ConversationRoute, Queue, QueueMember, RoutingRule
from cxloop.cases.queries import routing as routing_queries
from cxloop.cases.services import intake, routing
from cxloop.channels import services as channel_services
from cxloop.channels.base import RawPayload
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ConflictError, PermissionDeniedError, ValidationError
from cxloop.events import bus
from cxloop.interactions.models import Interaction, Thread
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import (
    CaseFactory,
    CategoryFactory,
    GoalFactory,
    QueueFactory,
    QueueMemberFactory,
    RoutingRuleFactory,
)
from tests.customers.factories import CustomerFactory
from tests.interactions.factories import InteractionFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def agent(username: str, **extra: object) -> User:
    return User.objects.create_user(username=username, password="x-pass-123456", role="agent", **extra)


def queue_with(*users: User, mode: str = "round_robin", **extra: object) -> Queue:
    queue = QueueFactory(assignment_mode=mode, **extra)
    for user in users:
        QueueMemberFactory(queue=queue, user=user)
    return queue


@pytest.fixture
def routed_events() -> Iterator[list[bus.DomainEvent]]:
    seen: list[bus.DomainEvent] = []
    bus.subscribe("routing.routed", seen.append)
    yield seen
    bus.unsubscribe("routing.routed", seen.append)


# --- rules -------------------------------------------------------------------------------------------------------


def test_the_first_matching_rule_in_position_order_wins():
    billing, vip, fallback = QueueFactory(key="billing"), QueueFactory(key="vip"), QueueFactory(is_default=True)
    RoutingRuleFactory(name="Later VIP", position=2, queue=vip, conditions={"keywords": ["refund"]})
    RoutingRuleFactory(name="First billing", position=1, queue=billing, conditions={"keywords": ["refund"]})
    case = CaseFactory(subject="Please refund my order")

    decision = routing.decide_case_route(case)

    assert decision is not None
    assert (decision.queue.key, decision.rule.name if decision.rule else None) == ("billing", "First billing")
    assert fallback.cases.count() == 0


def test_no_match_goes_to_the_default_queue_and_no_queue_means_no_route():
    CaseFactory()
    assert routing.decide_case_route(CaseFactory(subject="Hello")) is None

    default = QueueFactory(key="general", is_default=True)
    RoutingRuleFactory(queue=QueueFactory(key="sms"), conditions={"channels": ["sms"]})
    decision = routing.decide_case_route(CaseFactory(subject="Hello", source_channel="email"))

    assert decision is not None
    assert (decision.queue, decision.rule, decision.assignee) == (default, None, None)


def test_switched_off_rules_and_conversation_only_rules_are_skipped_for_cases():
    QueueFactory(key="general", is_default=True)
    RoutingRuleFactory(queue=QueueFactory(key="off"), is_active=False)
    RoutingRuleFactory(queue=QueueFactory(key="chats"), applies_to="conversations")
    case = CaseFactory()

    decision = routing.decide_case_route(case)

    assert decision is not None
    assert decision.queue.key == "general"


@pytest.mark.parametrize(
    ("conditions", "matches"),
    [
        ({"channels": ["email", "chat"]}, True),
        ({"channels": ["sms"]}, False),
        ({"languages": ["de"]}, True),
        ({"languages": ["en"]}, False),
        ({"goals": ["retain"]}, True),
        ({"goals": ["care"]}, False),
        ({"categories": ["billing"]}, True),
        ({"priorities": ["urgent", "high"]}, True),
        ({"priorities": ["low"]}, False),
        ({"customer_tiers": ["GOLD"]}, True),
        ({"customer_tiers": ["silver"]}, False),
        ({"keywords": ["card blocked"]}, True),
        ({"keywords": ["card"]}, True),
        ({"keywords": ["block"]}, False),
        ({"channels": ["email"], "customer_tiers": ["silver"]}, False),
        ({"sentiment_below": -0.5}, False),
        ({"emotions": ["anger"]}, False),
    ],
)
def test_each_condition_of_a_case_rule(conditions, matches):
    goal = GoalFactory(key="retain")
    category = CategoryFactory(key="billing")
    customer = CustomerFactory(locale="de-AT", attributes={"tier": "gold"})
    rule = RoutingRuleFactory(queue=QueueFactory(key="target"), conditions=conditions)
    case = CaseFactory(
        customer=customer,
        goal=goal,
        category=category,
        priority="high",
        source_channel="email",
        subject="My card   Blocked since Monday",
    )

    decision = routing.decide_case_route(case)

    assert (decision is not None and decision.rule == rule) is matches


def test_the_latest_message_of_the_case_gives_sentiment_emotion_and_detected_language():
    customer = CustomerFactory(locale="en-GB")
    conditions = {"sentiment_below": -0.3, "emotions": ["anger"], "languages": ["fr"]}
    rule = RoutingRuleFactory(queue=QueueFactory(key="upset"), conditions=conditions)
    case = CaseFactory(customer=customer, subject="Again!")
    InteractionFactory(
        customer=customer, case_ref=case.public_id, sentiment=-0.8, emotion="Anger", metadata={"language": "fr-FR"}
    )

    decision = routing.decide_case_route(case)

    assert decision is not None
    assert decision.rule == rule


def test_the_tier_attribute_follows_the_setting(settings):
    settings.CXLOOP_CUSTOMER_TIER_ATTRIBUTE = "segment"
    rule = RoutingRuleFactory(queue=QueueFactory(key="vip"), conditions={"customer_tiers": ["vip"]})
    tiered = CaseFactory(customer=CustomerFactory(attributes={"segment": "VIP", "tier": "basic"}))
    untiered = CaseFactory(customer=CustomerFactory(attributes={"tier": "vip"}))

    assert routing.decide_case_route(tiered).rule == rule  # type: ignore[union-attr]
    assert routing.decide_case_route(untiered) is None


# --- choosing the agent ------------------------------------------------------------------------------------------


def test_round_robin_continues_after_the_last_assignee_and_wraps():
    first, second, third = agent("first"), agent("second"), agent("third")
    queue = queue_with(first, second, third, is_default=True)

    picked = [routing.decide_case_route(CaseFactory()).assignee for _ in range(4)]  # type: ignore[union-attr]

    assert picked == [first, second, third, first]
    queue.refresh_from_db()
    assert queue.last_assigned_user == first


def test_round_robin_skips_who_is_away_offline_full_or_deactivated():
    away, offline, full, gone, ready = (agent(n) for n in ("away", "offline", "full", "gone", "ready"))
    AgentAvailability.objects.create(user=away, status="away")
    AgentAvailability.objects.create(user=offline, status="offline")
    AgentAvailability.objects.create(user=full, capacity=1)
    CaseFactory(owner=full, status="waiting_on_customer")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    queue_with(away, offline, full, gone, ready, is_default=True)

    decision = routing.decide_case_route(CaseFactory())

    assert decision is not None
    assert decision.assignee == ready


def test_nobody_with_room_leaves_the_work_in_the_queue():
    busy = agent("busy")
    AgentAvailability.objects.create(user=busy, capacity=0)
    queue = queue_with(busy, is_default=True)

    decision = routing.decide_case_route(CaseFactory())

    assert decision is not None
    assert (decision.queue, decision.assignee) == (queue, None)
    queue.refresh_from_db()
    assert queue.last_assigned_user is None


def test_manual_queues_assign_nobody_but_carry_their_team(team_a):
    queue = queue_with(agent("ann"), mode="manual", is_default=True, team=team_a)

    decision = routing.decide_case_route(CaseFactory())

    assert decision is not None
    assert (decision.queue, decision.assignee, decision.team) == (queue, None, team_a)


def test_load_balanced_takes_the_least_loaded_then_who_waited_longest_then_id():
    light, heavy, recent, never = agent("light"), agent("heavy"), agent("recent"), agent("never")
    CaseFactory(owner=heavy, status="open")
    CaseFactory(owner=heavy, status="open")
    ThreadFactory(assigned_to=light, status="open")
    ThreadFactory(assigned_to=recent, status="waiting")
    ThreadFactory(assigned_to=never, status="waiting")
    queue = queue_with(light, heavy, recent, never, mode="load_balanced", is_default=True)
    CaseFactory(owner=recent, status="closed", queue=queue, opened_at=clock.now() - timedelta(hours=1))
    CaseFactory(owner=light, status="closed", queue=queue, opened_at=clock.now() - timedelta(hours=5))

    first = routing.decide_case_route(CaseFactory())

    # light, recent and never carry one each; never was never routed anything, so waited longest
    assert first is not None
    assert first.assignee == never


def test_load_balanced_ties_in_waiting_fall_back_to_the_lower_id():
    one, two = agent("one"), agent("two")
    queue_with(two, one, mode="load_balanced", is_default=True)

    decision = routing.decide_case_route(CaseFactory())

    assert decision is not None
    assert decision.assignee == one


def test_agent_load_counts_active_cases_and_open_conversations_only():
    ann = agent("ann")
    for status in ("new", "open", "waiting_on_customer", "waiting_on_us", "resolved", "closed"):
        CaseFactory(owner=ann, status=status)
    for status in ("open", "waiting", "closed"):
        ThreadFactory(assigned_to=ann, status=status)

    assert routing.agent_load(ann.pk) == 6


# --- conversations -----------------------------------------------------------------------------------------------


def test_a_new_conversation_is_routed_assigned_and_announced(routed_events, django_capture_on_commit_callbacks):
    ann = agent("ann")
    chats = queue_with(ann, key="chats")
    rule = RoutingRuleFactory(
        name="Chats", queue=chats, applies_to="conversations", conditions={"channels": ["chat"], "keywords": ["help"]}
    )
    thread = ThreadFactory(channel="chat", subject="")
    message = InteractionFactory(customer=thread.customer, thread=thread, channel="chat", body="Help me please")

    with django_capture_on_commit_callbacks(execute=True):
        decision = routing.route_conversation(thread.pk, interaction_id=message.pk)

    assert decision is not None
    assert (decision.queue, decision.rule, decision.assignee) == (chats, rule, ann)
    thread.refresh_from_db()
    assert thread.assigned_to == ann
    route = ConversationRoute.objects.get(thread=thread)
    assert (route.queue, route.rule) == (chats, rule)
    assert [(e.kind, e.object_id, e.queue, e.rule, e.assignee) for e in routed_events] == [  # type: ignore[attr-defined]
        ("conversation", thread.public_id, "chats", "Chats", "ann")
    ]
    assert AuditEntry.objects.filter(action="conversation.assigned", object_id=thread.public_id).count() == 1


def test_a_conversation_is_routed_once_and_never_when_already_assigned_or_serving_a_case():
    ann = agent("ann")
    queue_with(ann, is_default=True)
    routed = ThreadFactory()
    assigned = ThreadFactory(assigned_to=ann)
    serving = ThreadFactory(case_ref="case_x")

    assert routing.route_conversation(routed.pk) is not None
    routed.assigned_to = None
    routed.save()
    assert routing.route_conversation(routed.pk) is None
    assert routing.route_conversation(assigned.pk) is None
    assert routing.route_conversation(serving.pk) is None
    assert ConversationRoute.objects.count() == 1


def test_case_only_conditions_do_not_match_conversations():
    RoutingRuleFactory(queue=QueueFactory(key="cases-only"), conditions={"priorities": ["normal"]})
    general = QueueFactory(key="general", is_default=True)
    thread = ThreadFactory()

    decision = routing.route_conversation(thread.pk)

    assert decision is not None
    assert (decision.queue, decision.rule, decision.assignee) == (general, None, None)
    thread.refresh_from_db()
    assert thread.assigned_to is None


def test_a_queue_without_room_gives_the_conversation_to_its_team(team_a):
    queue_with(mode="manual", is_default=True, team=team_a)
    thread = ThreadFactory()

    routing.route_conversation(thread.pk)

    thread.refresh_from_db()
    assert (thread.assigned_to, thread.team) == (None, team_a)


def test_an_inbound_email_is_routed_by_its_language_from_metadata_or_locale(django_capture_on_commit_callbacks):
    ann, ben = agent("ann"), agent("ben")
    german = queue_with(ann, key="german")
    queue_with(ben, key="general", is_default=True)
    RoutingRuleFactory(queue=german, applies_to="conversations", conditions={"languages": ["de"]})
    CustomerFactory(locale="de-DE").identities.create(kind="email", value="kurt@example.com")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "kurt@example.com", "support@shop.test", "Rechnung"
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content("Meine Rechnung ist falsch.")

    with django_capture_on_commit_callbacks(execute=True):
        inbound = channel_services.receive(RawPayload(channel="email", data=bytes(msg), source="test"))

    thread = Interaction.objects.get(public_id=inbound.interaction_refs[0]).thread
    assert thread is not None
    thread.refresh_from_db()
    assert thread.assigned_to == ann
    assert ConversationRoute.objects.get(thread=thread).queue == german


def test_auto_replies_are_not_routed():
    queue_with(agent("ann"), is_default=True)
    thread = ThreadFactory()

    intake.on_message_received(_received(thread, kind="auto_reply"))

    assert not ConversationRoute.objects.exists()


def _received(thread: Thread, *, kind: str, interaction_id: str = "") -> bus.DomainEvent:
    from cxloop.channels.events import InboundReceived

    return InboundReceived(
        inbound_id="inb_x",
        interaction_id=interaction_id,
        customer_id=thread.customer.public_id,
        thread_id=thread.public_id,
        channel=thread.channel,
        kind=kind,
        address="a@example.com",
    )


def test_the_subscriber_routes_a_message_of_a_new_conversation():
    queue_with(agent("ann"), is_default=True)
    thread = ThreadFactory()
    message = InteractionFactory(customer=thread.customer, thread=thread, direction="inbound")

    intake.on_message_received(_received(thread, kind="message", interaction_id=message.public_id))

    assert ConversationRoute.objects.filter(thread=thread).count() == 1


# --- availability ------------------------------------------------------------------------------------------------


def test_an_agent_sets_their_own_availability_and_it_is_audited(alice):
    row = routing.set_availability(alice.actor, alice.user, status="away", capacity=5)

    assert (row.status, row.capacity) == ("away", 5)
    entry = AuditEntry.objects.get(action="agent.availability_changed")
    assert (entry.object_id, entry.before, entry.after) == (
        "alice",
        {"status": "available", "capacity": 20},
        {"status": "away", "capacity": 5},
    )


def test_only_a_supervisor_sets_someone_elses_availability(alice, bob):
    with pytest.raises(PermissionDeniedError):
        routing.set_availability(alice.actor, bob.user, status="offline")
    assert not AgentAvailability.objects.exists()

    routing.set_availability(bob.actor, alice.user, status="offline")

    assert AgentAvailability.objects.get(user=alice.user).status == "offline"


def test_an_analyst_has_no_availability(charlie, bob):
    with pytest.raises(PermissionDeniedError):
        routing.set_availability(charlie.actor, charlie.user, status="away")
    with pytest.raises(ValidationError) as refused:
        routing.set_availability(bob.actor, charlie.user, status="away")
    assert refused.value.fields == {"user": "cannot take work"}


@pytest.mark.parametrize(
    ("change", "field"),
    [({"status": "busy"}, "status"), ({"capacity": -1}, "capacity"), ({"capacity": 501}, "capacity")],
)
def test_bad_availability_is_refused_with_the_field(alice, change, field):
    with pytest.raises(ValidationError) as refused:
        routing.set_availability(alice.actor, alice.user, **change)

    assert list(refused.value.fields) == [field]
    assert not AgentAvailability.objects.exists()


# --- configuration -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conditions", "applies_to", "field", "reason"),
    [
        ([], "both", "conditions", "must be a JSON object"),
        ({"colour": ["red"]}, "both", "conditions.colour", "unknown condition"),
        ({"channels": "email"}, "both", "conditions.channels", "must be a non-empty list"),
        ({"channels": []}, "both", "conditions.channels", "must be a non-empty list"),
        ({"channels": ["fax"]}, "both", "conditions.channels", "unknown: fax"),
        ({"channels": [3]}, "both", "conditions.channels", "each value must be non-empty text"),
        ({"goals": ["nope"]}, "cases", "conditions.goals", "unknown: nope"),
        ({"categories": ["nope"]}, "cases", "conditions.categories", "unknown: nope"),
        ({"priorities": ["asap"]}, "cases", "conditions.priorities", "unknown: asap"),
        ({"languages": ["english"]}, "both", "conditions.languages", "two or three letters"),
        ({"goals": ["care"]}, "conversations", "conditions.goals", "only for rules that apply to cases"),
        ({"sentiment_below": "low"}, "both", "conditions.sentiment_below", "a number from -1 to 1"),
        ({"sentiment_below": 2}, "both", "conditions.sentiment_below", "a number from -1 to 1"),
        ({"sentiment_below": True}, "both", "conditions.sentiment_below", "a number from -1 to 1"),
    ],
)
def test_rule_conditions_are_checked_precisely(bob, conditions, applies_to, field, reason):
    GoalFactory(key="care")
    queue = QueueFactory()

    with pytest.raises(ValidationError) as refused:
        routing.create_rule(bob.actor, name="R", queue=queue, conditions=conditions, applies_to=applies_to)

    assert list(refused.value.fields) == [field]
    assert reason in refused.value.fields[field]
    assert not RoutingRule.objects.exists()


def test_conditions_are_tidied_and_rules_go_last(bob):
    queue = QueueFactory()
    first = routing.create_rule(bob.actor, name="First", queue=queue, conditions={})
    second = routing.create_rule(
        bob.actor,
        name="  Second   rule ",
        queue=queue,
        conditions={"languages": ["DE", "de"], "keywords": [" card  blocked "], "sentiment_below": 0},
        applies_to="conversations",
    )

    assert (first.position, second.position) == (1, 2)
    assert second.name == "Second rule"
    assert second.conditions == {"languages": ["de"], "keywords": ["card blocked"], "sentiment_below": 0.0}
    assert AuditEntry.objects.filter(action="routing_rule.created").count() == 2


def test_rules_are_reordered_whole_and_moved(bob):
    queue = QueueFactory()
    a, b, c = (routing.create_rule(bob.actor, name=n, queue=queue, conditions={}) for n in "abc")

    routing.reorder_rules(bob.actor, [c.pk, a.pk, b.pk])
    routing.move_rule(bob.actor, RoutingRule.objects.get(pk=b.pk), -1)

    assert list(RoutingRule.objects.order_by("position").values_list("name", flat=True)) == ["c", "b", "a"]
    with pytest.raises(ValidationError) as refused:
        routing.reorder_rules(bob.actor, [a.pk, b.pk])
    assert refused.value.fields == {"ids": f"list every rule once; missing {c.pk}"}


def test_update_and_delete_a_rule(bob):
    queue, other = QueueFactory(key="one"), QueueFactory(key="two")
    rule = routing.create_rule(bob.actor, name="R", queue=queue, conditions={"channels": ["sms"]})

    routing.update_rule(bob.actor, rule, queue=other, conditions={"channels": ["chat"]}, is_active=False)
    rule.refresh_from_db()
    assert (rule.queue, rule.conditions, rule.is_active) == (other, {"channels": ["chat"]}, False)
    with pytest.raises(ConflictError):
        routing.create_rule(bob.actor, name="R", queue=queue, conditions={})

    rule_id = rule.pk
    routing.delete_rule(bob.actor, rule)

    assert not RoutingRule.objects.exists()
    assert AuditEntry.objects.filter(action="routing_rule.deleted", object_id=str(rule_id)).count() == 1


def test_switching_a_rule_to_conversations_rechecks_its_conditions(bob):
    GoalFactory(key="care")
    rule = routing.create_rule(bob.actor, name="R", queue=QueueFactory(), conditions={"goals": ["care"]})

    with pytest.raises(ValidationError) as refused:
        routing.update_rule(bob.actor, rule, applies_to="conversations")

    assert list(refused.value.fields) == ["conditions.goals"]
    rule.refresh_from_db()
    assert rule.applies_to == "both"


def test_queues_have_one_default_and_a_queue_in_use_is_not_deleted(bob, team_a):
    first = routing.create_queue(bob.actor, key="first", name="First", is_default=True)
    second = routing.create_queue(
        bob.actor, key="second", name="Second", team=team_a, assignment_mode="load_balanced", is_default=True
    )
    RoutingRuleFactory(queue=second, name="Uses second")

    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    with pytest.raises(ConflictError) as refused:
        routing.delete_queue(bob.actor, second)
    assert refused.value.code == "queue_in_use"
    routing.delete_queue(bob.actor, first)
    assert list(Queue.objects.values_list("key", flat=True)) == ["second"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": "Bad Key", "name": "X"}, "key"),
        ({"key": "ok", "name": "  "}, "name"),
        ({"key": "ok", "name": "X", "assignment_mode": "random"}, "assignment_mode"),
    ],
)
def test_bad_queues_are_refused_with_the_field(bob, change, field):
    with pytest.raises(ValidationError) as refused:
        routing.create_queue(bob.actor, **change)

    assert list(refused.value.fields) == [field]
    assert not Queue.objects.exists()


def test_members_are_set_added_and_removed_and_must_work_cases(bob, alice, charlie):
    queue = routing.create_queue(bob.actor, key="q", name="Q")

    routing.set_queue_members(bob.actor, queue, [alice.user, bob.user])
    routing.remove_queue_member(bob.actor, queue, bob.user)
    with pytest.raises(ValidationError) as refused:
        routing.add_queue_member(bob.actor, queue, charlie.user)

    assert list(QueueMember.objects.values_list("user__username", flat=True)) == ["alice"]
    assert refused.value.fields == {"members": "charlie cannot take work"}
    entries = AuditEntry.objects.filter(action="routing_queue.members_changed").order_by("id")
    assert [e.after for e in entries] == [{"members": ["alice", "bob"]}, {"members": ["alice"]}]


def test_configuration_needs_cases_configure(alice, charlie):
    queue = QueueFactory()
    rule = RoutingRuleFactory(queue=queue)
    before = AuditEntry.objects.count()

    for actor in (alice.actor, charlie.actor):
        with pytest.raises(PermissionDeniedError):
            routing.create_queue(actor, key="x", name="X")
        with pytest.raises(PermissionDeniedError):
            routing.update_queue(actor, queue, name="Renamed")
        with pytest.raises(PermissionDeniedError):
            routing.set_queue_members(actor, queue, [alice.user])
        with pytest.raises(PermissionDeniedError):
            routing.create_rule(actor, name="x", queue=queue, conditions={})
        with pytest.raises(PermissionDeniedError):
            routing.delete_rule(actor, rule)

    assert (Queue.objects.count(), RoutingRule.objects.count(), AuditEntry.objects.count()) == (1, 1, before)
    assert QueueMember.objects.count() == 0


# --- reads -------------------------------------------------------------------------------------------------------


def test_explain_route_says_why_each_rule_failed_and_changes_nothing(charlie, bob):
    queue = queue_with(bob.user, key="billing")
    RoutingRuleFactory(name="SMS", position=1, queue=QueueFactory(key="sms"), conditions={"channels": ["sms"]})
    RoutingRuleFactory(name="Billing", position=2, queue=queue, conditions={"keywords": ["invoice"]})
    RoutingRuleFactory(name="Never tried", position=3, queue=queue)
    customer = CustomerFactory(locale="en-GB")

    explanation = routing_queries.explain_route(
        charlie.actor, channel="email", text="Wrong invoice", customer_id=customer.public_id
    )

    assert [(c.rule.name, c.matched, c.reason) for c in explanation.checks] == [
        ("SMS", False, "channel 'email' is not one of sms"),
        ("Billing", True, "matched on keywords"),
    ]
    assert (explanation.queue, explanation.assignee, explanation.facts.language) == (queue, bob.user, "en")
    assert explanation.summary == "To Billing by rule 'Billing', assigned to bob."
    queue.refresh_from_db()
    assert queue.last_assigned_user is None


def test_explain_route_refuses_unknown_input_with_the_field(charlie):
    with pytest.raises(ValidationError) as channel:
        routing_queries.explain_route(charlie.actor, channel="fax")
    with pytest.raises(ValidationError) as customer:
        routing_queries.explain_route(charlie.actor, customer_id="cus_nope")

    assert (channel.value.fields.keys(), customer.value.fields) == ({"channel"}, {"customer_id": "unknown customer"})


def test_workloads_per_agent(bob, alice, charlie, django_assert_max_num_queries):
    AgentAvailability.objects.create(user=alice.user, status="away", capacity=3)
    CaseFactory(owner=alice.user, status="open")
    ThreadFactory(assigned_to=alice.user, status="waiting")
    ThreadFactory(assigned_to=alice.user, status="closed")

    with django_assert_max_num_queries(3):
        rows = {w.user.username: w for w in routing_queries.workloads(charlie.actor)}

    assert set(rows) == {"alice", "bob"}  # charlie analyses, he does not take work
    assert (rows["alice"].open_cases, rows["alice"].open_conversations, rows["alice"].load) == (1, 1, 2)
    assert (rows["alice"].capacity, rows["alice"].status, rows["alice"].has_room) == (3, "away", False)
    assert (rows["bob"].capacity, rows["bob"].status, rows["bob"].team.name) == (20, "available", "Team A")  # type: ignore[union-attr]


def test_reads_need_cases_view():
    nobody = Actor(user=None, via="test")

    with pytest.raises(PermissionDeniedError):
        routing_queries.list_queues(nobody)
    with pytest.raises(PermissionDeniedError):
        routing_queries.workloads(nobody)
    with pytest.raises(PermissionDeniedError):
        routing_queries.explain_route(nobody)


def test_open_case_applies_the_route(alice, bob, django_capture_on_commit_callbacks):
    from cxloop.cases.services import cases as case_services

    queue = queue_with(bob.user, key="billing", team=bob.user.team)
    RoutingRuleFactory(name="Refunds", queue=queue, applies_to="cases", conditions={"keywords": ["refund"]})
    customer = CustomerFactory()

    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.open_case(
            alice.actor, case_services.CaseInput(customer=customer, subject="Refund please", source_channel="email")
        )

    case.refresh_from_db()
    assert (case.queue, case.owner, case.team, case.status) == (queue, bob.user, bob.user.team, "open")
    queue.refresh_from_db()
    assert queue.last_assigned_user == bob.user
