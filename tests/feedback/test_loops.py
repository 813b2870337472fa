"""The closed loop: an unhappy answer opens a follow-up case (with its SLA, the answer attached, the right owner),
staff reaching the customer marks it contacted, and it closes with an outcome. Answers arrive as submit_response
leaves them: a stored Response and a response.received event delivered after commit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from cxloop.accounts.models import Notification, User
from cxloop.cases.models import Case, CaseStatus
from cxloop.cases.services import cases as case_services
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.customers import services as customer_services
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.events import bus
from cxloop.feedback.models import Loop, LoopRule
from cxloop.feedback.services import loops
from cxloop.interactions import services as interaction_services
from cxloop.interactions.types import InteractionInput
from cxloop.messaging import services as messaging_services
from cxloop.messaging.types import SendRequest
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import QueueFactory, QueueMemberFactory, RoutingRuleFactory, SlaPolicyFactory
from tests.feedback.factories import LoopRuleFactory
from tests.feedback.loop_helpers import answer, publish_received
from tests.interactions.factories import ThreadFactory

pytestmark = pytest.mark.django_db

ANGRY = "Three weeks and still no refund. Furious, nobody calls back!"


@pytest.fixture
def ann(db):  # type: ignore[no-untyped-def]
    return customer_services.create_customer(
        Actor.system("test"),
        CustomerInput(name="Ann Lee", identities=[IdentityInput(kind="email", value="ann@example.com")]),
    )


@pytest.fixture
def events() -> Iterator[list[bus.DomainEvent]]:
    seen: list[bus.DomainEvent] = []
    bus.subscribe("*", seen.append)
    yield seen
    bus.unsubscribe("*", seen.append)


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """deliver(response): publish response.received and run everything that follows on commit."""

    def run(response):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            publish_received(response)
        return Loop.objects.filter(response=response).first()

    return run


def names(events: list[bus.DomainEvent]) -> list[str]:
    return [e.name for e in events if e.name.startswith("loop.")]


# --- opening -------------------------------------------------------------------------------------------------------


def test_a_detractor_opens_a_follow_up_case_for_the_agent_who_served_the_customer(ann, alice, deliver, events):  # type: ignore[no-untyped-def]
    policy = SlaPolicyFactory(name="Standard", first_response_minutes=60)
    response = answer(ann, score=3, comment=ANGRY, sentiment=-0.81, emotion="anger", agent=alice.user)

    loop = deliver(response)

    assert loop is not None
    assert loop.rule.name == "NPS detractor (≤ 6)"  # the rule a fresh install starts with
    assert (loop.state, loop.owner, loop.customer_id) == ("open", alice.user, ann.pk)
    case = Case.objects.get(public_id=loop.case_ref)
    assert case.subject == "Follow up: NPS 3 from Ann Lee"
    assert f'Comment: "{ANGRY}"' in case.description
    assert "Score: 3 (scale 0–10)" in case.description
    assert "Sentiment: -0.81 (negative)" in case.description
    assert "Emotion: anger" in case.description
    assert (case.source_channel, case.priority, case.owner, case.status) == ("survey", "high", alice.user, "open")
    assert case.sla_policy_id == policy.pk
    assert case.sla_next_due_at is not None
    assert names(events) == ["loop.opened"]
    opened = next(e for e in events if e.name == "loop.opened")
    assert opened.payload() == {
        "loop_id": loop.public_id,
        "response_id": response.public_id,
        "customer_id": ann.public_id,
        "case_id": case.public_id,
        "rule": "NPS detractor (≤ 6)",
        "owner": "alice",
    }
    note = Notification.objects.get(user=alice.user, kind="loop.opened")
    assert (note.title, note.url) == ("Follow up: NPS 3 from Ann Lee", f"/cases/{case.public_id}/")
    assert AuditEntry.objects.filter(action="loop.opened", object_id=loop.public_id).count() == 1


@pytest.mark.parametrize("score", [7, 8, 9, 10])
def test_passives_and_promoters_open_nothing(ann, alice, deliver, events, score):  # type: ignore[no-untyped-def]
    response = answer(ann, score=score, comment="Fine, thanks", sentiment=0.4, emotion="joy", agent=alice.user)

    assert deliver(response) is None

    assert Loop.objects.count() == 0
    assert Case.objects.count() == 0
    assert names(events) == []


def test_a_csat_of_two_and_an_angry_ces_comment_follow_up_by_the_default_rules(ann, deliver):  # type: ignore[no-untyped-def]
    csat = deliver(answer(ann, kind="csat", score=2))
    angry_ces = deliver(answer(ann, kind="ces", score=6, comment=ANGRY, sentiment=-0.7, emotion="anger"))
    calm_ces = deliver(answer(ann, kind="ces", score=2, comment="It took a while", sentiment=-0.2, emotion="sadness"))

    assert csat is not None
    assert csat.rule.name == "CSAT ≤ 2"
    assert Case.objects.get(public_id=csat.case_ref).subject == "Follow up: CSAT 2 from Ann Lee"
    assert angry_ces is not None
    assert angry_ces.rule.name == "Angry comment (anger, sentiment < −0.5)"
    assert calm_ces is None


def test_the_first_matching_rule_in_order_wins(ann, alice, bob, deliver):  # type: ignore[no-untyped-def]
    LoopRule.objects.all().delete()
    angry = LoopRuleFactory(
        name="Angry",
        position=1,
        conditions={"emotions": ["anger"]},
        priority="urgent",
        assign_to_agent=False,
        owner=bob.user,
    )
    LoopRuleFactory(name="Detractor", position=2, conditions={"score_at_most": 6}, priority="normal")

    first = deliver(answer(ann, score=2, comment=ANGRY, sentiment=-0.8, emotion="anger", agent=alice.user))
    loops_rules_move_detractor_first(bob)
    second = deliver(answer(ann, score=2, comment=ANGRY, sentiment=-0.8, emotion="anger", agent=alice.user))

    assert first.rule == angry
    assert (Case.objects.get(public_id=first.case_ref).priority, first.owner) == ("urgent", bob.user)
    assert second.rule.name == "Detractor"
    assert (Case.objects.get(public_id=second.case_ref).priority, second.owner) == ("normal", alice.user)


def loops_rules_move_detractor_first(member):  # type: ignore[no-untyped-def]
    from cxloop.feedback.services import loop_rules

    loop_rules.move_rule(member.actor, LoopRule.objects.get(name="Detractor"), -1)


def test_one_loop_per_answer_however_often_the_event_comes(ann, alice, deliver, events):  # type: ignore[no-untyped-def]
    response = answer(ann, score=1, agent=alice.user)

    first = deliver(response)
    again = deliver(response)
    direct = loops.open_loop(Actor.system("test"), response)

    assert first is not None
    assert again == first == direct
    assert Loop.objects.count() == 1
    assert Case.objects.count() == 1
    assert names(events) == ["loop.opened"]


def test_a_deactivated_agent_leaves_the_follow_up_to_the_rules_owner(ann, alice, bob, deliver):  # type: ignore[no-untyped-def]
    LoopRule.objects.filter(name="NPS detractor (≤ 6)").update(owner=bob.user)
    User.objects.filter(pk=alice.user.pk).update(is_active=False)

    loop = deliver(answer(ann, score=4, agent=alice.user))

    assert loop.owner == bob.user
    assert Case.objects.get(public_id=loop.case_ref).owner == bob.user


def test_a_rule_with_only_a_team_leaves_the_case_to_that_team(ann, alice, team_b, deliver):  # type: ignore[no-untyped-def]
    LoopRule.objects.filter(name="NPS detractor (≤ 6)").update(assign_to_agent=False, team=team_b)

    loop = deliver(answer(ann, score=4, agent=alice.user))

    case = Case.objects.get(public_id=loop.case_ref)
    assert (case.owner, case.team, case.status, case.queue) == (None, team_b, "new", None)
    assert (loop.owner, loop.team) == (None, team_b)


def test_routing_sends_the_follow_up_of_an_angry_answer_to_the_experienced_agents(ann, bob, deliver):  # type: ignore[no-untyped-def]
    general = QueueFactory(key="general", is_default=True, assignment_mode="round_robin")
    experienced = QueueFactory(key="experienced", assignment_mode="round_robin")
    QueueMemberFactory(queue=experienced, user=bob.user)
    RoutingRuleFactory(name="Angry to experienced", queue=experienced, conditions={"emotions": ["anger"]})
    calm = User.objects.create_user(username="dan", password="dan-pass-123456", role="agent")
    QueueMemberFactory(queue=general, user=calm)

    angry = deliver(answer(ann, score=2, comment=ANGRY, sentiment=-0.8, emotion="anger"))
    sad = deliver(answer(ann, score=2, comment="A pity", sentiment=-0.3, emotion="sadness"))

    angry_case = Case.objects.get(public_id=angry.case_ref)
    assert (angry_case.queue, angry_case.owner) == (experienced, bob.user)
    assert angry.owner == bob.user  # the loop follows the case's owner
    sad_case = Case.objects.get(public_id=sad.case_ref)
    assert (sad_case.queue, sad_case.owner) == (general, calm)


def test_the_follow_up_takes_the_conversation_the_survey_was_about(ann, alice, deliver):  # type: ignore[no-untyped-def]
    thread = ThreadFactory(customer=ann, channel="email")

    loop = deliver(answer(ann, score=0, agent=alice.user, thread_ref=thread.public_id))

    case = Case.objects.get(public_id=loop.case_ref)
    assert [link.thread for link in case.conversation_links.all()] == [thread]
    thread.refresh_from_db()
    assert thread.case_ref == case.public_id
    assert case.source_channel == "survey"


# --- contacted -----------------------------------------------------------------------------------------------------


@pytest.fixture
def sending(settings):  # type: ignore[no-untyped-def]
    """Messages are dispatched at once, through the email channel to Django's test outbox."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CXLOOP_QUIET_HOURS = "off"


def test_an_email_an_agent_sends_marks_the_loop_contacted(
    ann, alice, deliver, events, sending, mailoutbox, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    loop = deliver(answer(ann, score=3, comment=ANGRY, agent=alice.user))

    with django_capture_on_commit_callbacks(execute=True):
        messaging_services.send_message(
            alice.actor, SendRequest(customer_id=ann.public_id, channel="email", text="Sorry, Ann. Can we call you?")
        )

    assert [m.to for m in mailoutbox] == [["ann@example.com"]]
    loop.refresh_from_db()
    assert loop.state == "contacted"
    assert loop.contacted_at is not None
    assert names(events) == ["loop.opened", "loop.contacted"]
    assert AuditEntry.objects.filter(action="loop.contacted", object_id=loop.public_id).count() == 1


def test_the_open_loop_check_sees_only_this_customers_open_loops(ann, alice, deliver):  # type: ignore[no-untyped-def]
    other = customer_services.create_customer(Actor.system("test"), CustomerInput(name="Other"))
    assert not loops._has_open_loop(ann.public_id)

    loop = deliver(answer(ann, score=3, agent=alice.user))

    assert loops._has_open_loop(ann.public_id)
    assert not loops._has_open_loop(other.public_id)
    assert not loops._has_open_loop("cus_nobody")
    Loop.objects.filter(pk=loop.pk).update(state="contacted")
    assert not loops._has_open_loop(ann.public_id)


def test_automated_messages_do_not_count_as_contact(
    ann, alice, deliver, sending, mailoutbox, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    loop = deliver(answer(ann, score=3, agent=alice.user))

    with django_capture_on_commit_callbacks(execute=True):
        messaging_services.send_message(
            Actor.system("journeys"),
            SendRequest(customer_id=ann.public_id, channel="email", text="Your parcel is on its way", automated=True),
        )

    assert len(mailoutbox) == 1
    loop.refresh_from_db()
    assert (loop.state, loop.contacted_at) == ("open", None)


def test_a_call_logged_after_the_loop_opened_marks_it_contacted(
    ann, alice, deliver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    loop = deliver(answer(ann, score=3, agent=alice.user))
    called_at = clock.now() + timedelta(minutes=5)

    with django_capture_on_commit_callbacks(execute=True):
        interaction_services.record_interaction(
            alice.actor,
            ann,
            InteractionInput(
                channel="phone", direction="outbound", body="Called Ann, apologised", occurred_at=called_at
            ),
        )

    loop.refresh_from_db()
    assert (loop.state, loop.contacted_at) == ("contacted", called_at)


def test_a_call_before_the_loop_opened_or_a_note_does_not_count(
    ann, alice, deliver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    loop = deliver(answer(ann, score=3, agent=alice.user))

    with django_capture_on_commit_callbacks(execute=True):
        interaction_services.record_interaction(
            alice.actor,
            ann,
            InteractionInput(
                channel="phone", direction="outbound", body="Old call", occurred_at=loop.opened_at - timedelta(days=1)
            ),
        )
        interaction_services.record_interaction(
            alice.actor, ann, InteractionInput(channel="note", direction="internal", body="Will call tomorrow")
        )

    loop.refresh_from_db()
    assert loop.state == "open"


def test_the_contacted_button_and_closing_with_an_outcome(ann, alice, deliver, events):  # type: ignore[no-untyped-def]
    loop = deliver(answer(ann, score=3, agent=alice.user))
    opened = loop.opened_at

    with pytest.raises(ValidationError) as too_early:
        loops.mark_contacted(alice.actor, loop, at=opened - timedelta(minutes=1))
    loops.mark_contacted(alice.actor, loop, at=opened + timedelta(hours=2))
    closed = loops.close_loop(
        alice.actor, loop, outcome="recovered", note="Refunded, she is happy", at=opened + timedelta(hours=30)
    )

    assert (closed.state, closed.outcome, closed.outcome_note) == ("resolved", "recovered", "Refunded, she is happy")
    assert (closed.contacted_at, closed.closed_at, closed.closed_by) == (
        opened + timedelta(hours=2),
        opened + timedelta(hours=30),
        alice.user,
    )
    assert too_early.value.fields == {"at": "must not be before the opening"}
    stored = Loop.objects.get(pk=loop.pk)
    assert stored.state == "resolved"
    assert AuditEntry.objects.get(action="loop.closed", object_id=loop.public_id).after["hours_to_close"] == 30.0


def test_loop_closed_carries_the_hours_it_took(ann, alice, deliver, events, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    loop = deliver(answer(ann, score=3, agent=alice.user))

    with django_capture_on_commit_callbacks(execute=True):
        loops.close_loop(alice.actor, loop, outcome="no_response", at=loop.opened_at + timedelta(hours=49, minutes=30))

    closed = next(e for e in events if e.name == "loop.closed")
    assert closed.payload() == {
        "loop_id": loop.public_id,
        "case_id": loop.case_ref,
        "outcome": "no_response",
        "hours_to_close": 49.5,
    }
    assert Loop.objects.get(pk=loop.pk).contacted_at is None


def test_closing_needs_a_known_outcome_and_happens_once(ann, alice, deliver):  # type: ignore[no-untyped-def]
    loop = deliver(answer(ann, score=3, agent=alice.user))

    with pytest.raises(ValidationError) as bad:
        loops.close_loop(alice.actor, loop, outcome="fine")
    assert bad.value.fields == {"outcome": "must be one of recovered, partly, not_recovered, no_response"}
    with pytest.raises(ValidationError) as long_note:
        loops.close_loop(alice.actor, loop, outcome="partly", note="x" * 1001)
    assert long_note.value.fields == {"note": "at most 1000 characters"}
    assert Loop.objects.get(pk=loop.pk).state == "open"

    loops.close_loop(alice.actor, loop, outcome="partly")
    with pytest.raises(loops.LoopClosedError) as again:
        loops.close_loop(alice.actor, loop, outcome="recovered")
    assert again.value.status == 409
    with pytest.raises(loops.LoopClosedError):
        loops.mark_contacted(alice.actor, loop)
    assert Loop.objects.get(pk=loop.pk).outcome == "partly"


def test_an_analyst_can_neither_contact_nor_close(ann, alice, charlie, deliver):  # type: ignore[no-untyped-def]
    loop = deliver(answer(ann, score=3, agent=alice.user))
    audits = AuditEntry.objects.count()

    with pytest.raises(PermissionDeniedError):
        loops.mark_contacted(charlie.actor, loop)
    with pytest.raises(PermissionDeniedError):
        loops.close_loop(charlie.actor, loop, outcome="recovered")

    stored = Loop.objects.get(pk=loop.pk)
    assert (stored.state, stored.contacted_at, stored.outcome) == ("open", None, "")
    assert AuditEntry.objects.count() == audits


# --- the follow-up case --------------------------------------------------------------------------------------------


def test_resolving_the_case_leaves_the_loop_open_and_asks_its_owner_for_the_outcome(
    ann, alice, deliver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    loop = deliver(answer(ann, score=3, agent=alice.user))
    case = Case.objects.get(public_id=loop.case_ref)

    with django_capture_on_commit_callbacks(execute=True):
        case_services.change_status(alice.actor, case, CaseStatus.RESOLVED, goal_achieved=True, outcome="Refunded")

    assert Loop.objects.get(pk=loop.pk).state == "open"
    asked = Notification.objects.get(user=alice.user, kind="loop.outcome_needed")
    assert asked.url == f"/cases/{case.public_id}/#follow-up"


def test_handing_the_case_over_hands_the_loop_over(ann, alice, bob, deliver, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    loop = deliver(answer(ann, score=3, agent=alice.user))
    case = Case.objects.get(public_id=loop.case_ref)

    with django_capture_on_commit_callbacks(execute=True):
        case_services.assign_case(bob.actor, case, owner=bob.user, note="Bob knows Ann")

    assert Loop.objects.get(pk=loop.pk).owner == bob.user


# --- end to end: the real answer path -----------------------------------------------------------------------------


def test_an_angry_nps_answer_submitted_through_its_link_opens_the_follow_up(alice, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    from cxloop.feedback.definitions import standard_definition
    from cxloop.feedback.links import invitation_token
    from cxloop.feedback.services import responses
    from tests.customers.factories import CustomerFactory
    from tests.feedback.factories import InvitationFactory, SurveyFactory

    survey = SurveyFactory(key="nps-after-case", kind="nps", definition=standard_definition("nps"))
    customer = CustomerFactory(name="Ann Lee")
    invitation = InvitationFactory(survey=survey, customer=customer, agent=alice.user, channel="email")
    comment = "Terrible service. I waited three weeks and nobody called me back. I am furious!"

    with django_capture_on_commit_callbacks(execute=True):
        response = responses.submit_response(
            responses.respondent_actor("203.0.113.9"),
            invitation_token(invitation.public_id),
            {"score": 3, "comment": comment},
        )

    loop = Loop.objects.get(response=response)
    case = Case.objects.get(public_id=loop.case_ref)
    assert response.sentiment is not None
    assert response.sentiment < -0.5
    assert (loop.owner, case.owner, case.subject) == (alice.user, alice.user, "Follow up: NPS 3 from Ann Lee")
    assert comment in case.description
    assert f"Sentiment: {response.sentiment:+.2f} (negative)" in case.description
    assert response.emotion == "anger"
    assert "Emotion: anger" in case.description
