"""The runtime moving enrolments: each step kind, waits, goal, re-entry, versions, pause, history and idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from cxloop.channels.outbound_webhook import WebhookCall
from cxloop.journeys import engine, enrolments, services
from cxloop.journeys.errors import AlreadyEnrolledError, EnrolmentFinishedError, JourneyNotActiveError
from cxloop.journeys.models import Enrolment, EnrolmentStep, JourneyTimer
from cxloop.messaging.models import OutboundMessage
from tests.journeys.runtime import SYSTEM, T0, active_journey, customer, detail, history, messages, run, template

WELCOME = """
key: welcome
name: Welcome
trigger: {kind: manual}
reentry: {policy: never}
steps:
  - {id: hello, kind: send_message, channel: email, template: t-hello, purpose: service, next: pause}
  - {id: pause, kind: wait, duration: 2 days, next: again}
  - {id: again, kind: send_message, channel: email, template: t-again, purpose: service, next: bye}
  - {id: bye, kind: exit, reason: done}
"""


@pytest.fixture
def templates(db: None) -> None:
    template("t-hello")
    template("t-again")


def _enrol(journey, who, ref: str = "manual:1", at: datetime = T0) -> Enrolment:  # type: ignore[no-untyped-def]
    return enrolments.enrol(SYSTEM, journey, who, trigger_ref=ref, now=at)


def test_an_enrolment_sends_waits_and_exits(templates):
    journey = active_journey(WELCOME)
    ann = customer()

    enrolment = _enrol(journey, ann)
    assert messages(ann) == []  # steps run in the worker, not in the caller
    assert run(T0) == 1

    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.step, enrolment.seq) == ("active", "pause", 3)
    assert messages(ann) == ["t-hello"]
    assert JourneyTimer.objects.get(enrolment=enrolment).due_at == T0 + timedelta(days=2)
    assert run(T0 + timedelta(days=2) - timedelta(seconds=1)) == 0

    assert run(T0 + timedelta(days=2)) == 1

    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.step, enrolment.exit_reason) == ("exited", "bye", "done")
    assert messages(ann) == ["t-hello", "t-again"]
    assert history(enrolment) == [
        ("hello", "entered"),
        ("hello", "sent"),
        ("pause", "waiting"),
        ("pause", "waited"),
        ("again", "sent"),
        ("bye", "exit"),
    ]
    assert not JourneyTimer.objects.filter(enrolment=enrolment).exists()
    waited = EnrolmentStep.objects.get(enrolment=enrolment, outcome="waited")
    assert (waited.due_at, waited.at) == (T0 + timedelta(days=2), T0 + timedelta(days=2))


def test_the_same_trigger_enrols_once_and_the_policy_keeps_a_second_trigger_out(templates):
    journey = active_journey(WELCOME)
    ann = customer()

    first = _enrol(journey, ann, "event:e1")
    again = _enrol(journey, ann, "event:e1")

    assert again.pk == first.pk
    with pytest.raises(AlreadyEnrolledError):
        _enrol(journey, ann, "event:e2")
    assert Enrolment.objects.count() == 1


def test_reentry_after_days_lets_a_customer_in_again_once_the_days_passed(templates):
    journey = active_journey(WELCOME.replace("{policy: never}", "{policy: after, days: 10}"))
    ann = customer()
    _enrol(journey, ann, "a")
    run(T0)
    run(T0 + timedelta(days=2))  # finished

    with pytest.raises(AlreadyEnrolledError):
        _enrol(journey, ann, "b", T0 + timedelta(days=9))
    later = _enrol(journey, ann, "c", T0 + timedelta(days=11))

    assert later.state == "active"
    assert Enrolment.objects.filter(customer=ann).count() == 2


def test_reentry_always_enrols_even_while_in_the_journey(templates):
    journey = active_journey(WELCOME.replace("{policy: never}", "{policy: always}"))
    ann = customer()

    _enrol(journey, ann, "a")
    _enrol(journey, ann, "b")

    assert Enrolment.objects.filter(customer=ann, state="active").count() == 2


def test_a_journey_that_is_not_active_enrols_nobody(templates):
    journey = services.create_journey(SYSTEM, WELCOME)

    with pytest.raises(JourneyNotActiveError):
        _enrol(journey, customer())

    assert Enrolment.objects.count() == 0


def test_a_step_interrupted_midway_runs_again_and_sends_once(templates):
    # given: the worker dies while writing the history row of the send (after send_message made the message)
    journey = active_journey(WELCOME)
    ann = customer()
    enrolment = _enrol(journey, ann)
    with (
        mock.patch.object(engine, "write_history", side_effect=[RuntimeError("killed")]),
        pytest.raises(RuntimeError),
    ):
        engine.run_enrolment(enrolment.pk, now=T0)
    assert messages(ann) == []  # rolled back with the step

    # when: its timer is claimed again
    run(T0)

    # then
    assert messages(ann) == ["t-hello"]
    assert history(enrolment) == [("hello", "entered"), ("hello", "sent"), ("pause", "waiting")]


def test_a_lost_worker_lease_expires_and_the_step_runs_once(templates):
    journey = active_journey(WELCOME)
    ann = customer()
    enrolment = _enrol(journey, ann)
    from cxloop.journeys import timers

    assert [row[1] for row in timers.claim("dead-worker", now=T0)] == [enrolment.pk]  # then it dies

    assert run(T0 + timedelta(seconds=timers.CLAIM_SECONDS - 1), "other") == 0
    assert run(T0 + timedelta(seconds=timers.CLAIM_SECONDS + 1), "other") == 1

    assert messages(ann) == ["t-hello"]


def test_a_message_refused_by_consent_is_recorded_and_the_journey_goes_on(db):
    template("t-promo", purpose="marketing")
    journey = active_journey(
        """
key: promo
name: Promo
trigger: {kind: manual}
steps:
  - {id: offer, kind: send_message, channel: email, template: t-promo, purpose: marketing, next: bye}
  - {id: bye, kind: exit}
"""
    )
    ann = customer()  # no marketing consent
    enrolment = _enrol(journey, ann)

    run(T0)

    enrolment.refresh_from_db()
    assert history(enrolment) == [("offer", "entered"), ("offer", "blocked"), ("bye", "exit")]
    message = OutboundMessage.objects.get(customer=ann)
    assert message.status == "blocked"
    assert detail(enrolment, "blocked")["message"] == message.public_id
    assert enrolment.state == "exited"


BRANCHY = """
key: branchy
name: Branchy
trigger: {kind: event, event: order.placed}
steps:
  - id: big
    kind: branch
    branches:
      - label: big order
        when: {field: event.properties.total, operator: gte, value: 100}
        then: vip
      - label: regular
        when: {field: attributes.plan, operator: eq, value: pro}
        then: pro
    otherwise: plain
  - {id: vip, kind: tag, add: [vip], next: bye}
  - {id: pro, kind: set_attribute, attribute: tier, value: gold, next: bye}
  - {id: plain, kind: exit, reason: small order}
  - {id: bye, kind: exit}
"""


def test_a_branch_records_which_way_and_the_values_read(db):
    journey = active_journey(BRANCHY)
    ann = customer(attributes={})
    context = {"event": {"type": "order.placed", "at": T0.isoformat(), "properties": {"total": 40}, "event_id": "o1"}}
    enrolment = enrolments.enrol(SYSTEM, journey, ann, trigger_ref="event:o1", context=context, now=T0)

    run(T0)

    assert history(enrolment) == [("big", "entered"), ("big", "branch"), ("plain", "exit")]
    assert detail(enrolment, "branch") == {
        "taken": "otherwise",
        "tried": [
            {
                "branch": "big order",
                "result": False,
                "checks": [
                    {
                        "field": "event.properties.total",
                        "operator": "gte",
                        "expected": 100,
                        "value": 40,
                        "result": False,
                    }
                ],
            },
            {
                "branch": "regular",
                "result": False,
                "checks": [
                    {"field": "attributes.plan", "operator": "eq", "expected": "pro", "value": None, "result": False}
                ],
            },
        ],
    }


def test_tag_and_set_attribute_steps_change_the_customer(db):
    from cxloop.customers.services import define_attribute

    define_attribute(SYSTEM, key="tier", label="Tier", type="text")
    define_attribute(SYSTEM, key="plan", label="Plan", type="text")
    journey = active_journey(BRANCHY)
    big = customer("Big", email="big@example.com")
    pro = customer("Pro", email="pro@example.com", attributes={"plan": "pro"})
    for who, total in ((big, 500), (pro, 5)):
        context = {"event": {"type": "order.placed", "properties": {"total": total}}}
        enrolments.enrol(SYSTEM, journey, who, trigger_ref=f"event:{who.pk}", context=context, now=T0)

    run(T0)

    big.refresh_from_db()
    pro.refresh_from_db()
    assert list(big.tags.values_list("name", flat=True)) == ["vip"]
    assert pro.attributes == {"plan": "pro", "tier": "gold"}


def test_versions_are_pinned_for_running_enrolments(templates):
    journey = active_journey(WELCOME)
    ann, bea = customer(), customer("Bea", email="bea@example.com")
    old = _enrol(journey, ann)
    run(T0)
    template("t-changed")
    services.publish_version(SYSTEM, journey, WELCOME.replace("template: t-again", "template: t-changed"))
    new = _enrol(journey, bea, "manual:2")
    run(T0)

    run(T0 + timedelta(days=2))

    assert (old.version.number, Enrolment.objects.get(pk=new.pk).version.number) == (1, 2)
    assert messages(ann) == ["t-hello", "t-again"]
    assert messages(bea) == ["t-hello", "t-changed"]


def test_a_paused_journey_holds_its_timers_until_resumed(templates):
    journey = active_journey(WELCOME)
    ann = customer()
    _enrol(journey, ann)
    run(T0)
    services.pause_journey(SYSTEM, journey)

    assert run(T0 + timedelta(days=3)) == 0
    assert messages(ann) == ["t-hello"]

    services.resume_journey(SYSTEM, journey)
    assert run(T0 + timedelta(days=3)) == 1
    assert messages(ann) == ["t-hello", "t-again"]


def test_remove_and_archive_exit_running_enrolments(templates, bob):
    journey = active_journey(WELCOME)
    ann, bea, cid = (customer(n, email=f"{n}@example.com") for n in ("ann", "bea", "cid"))
    one, two, three = (_enrol(journey, c, f"manual:{c.pk}") for c in (ann, bea, cid))
    run(T0)

    enrolments.remove(bob.actor, one, reason="asked to stop", now=T0 + timedelta(hours=1))
    with pytest.raises(EnrolmentFinishedError):
        enrolments.remove(bob.actor, one, reason="again")
    services.archive_journey(SYSTEM, journey)

    states = dict(Enrolment.objects.values_list("pk", "exit_reason"))
    assert states == {one.pk: "asked to stop", two.pk: "journey archived", three.pk: "journey archived"}
    assert set(Enrolment.objects.values_list("state", flat=True)) == {"exited"}
    assert JourneyTimer.objects.count() == 0
    assert history(two)[-1] == ("pause", "exited")
    assert run(T0 + timedelta(days=5)) == 0


def test_an_agent_without_the_permission_cannot_exit_all(templates, alice):
    journey = active_journey(WELCOME)
    _enrol(journey, customer())

    from cxloop.core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        enrolments.exit_all(alice.actor, journey, reason="no")
    assert Enrolment.objects.get().state == "active"


WEBHOOK = """
key: hook
name: Hook
trigger: {kind: manual}
steps:
  - {id: call, kind: webhook, url: "https://example.com/hook", next: bye}
  - {id: bye, kind: exit}
"""


def test_a_failing_webhook_is_retried_with_backoff_then_fails_the_enrolment(db):
    journey = active_journey(WEBHOOK)
    enrolment = _enrol(journey, customer())
    calls: list[str] = []

    def refuse(url, payload, *, delivery_id, event, secret):  # type: ignore[no-untyped-def]
        calls.append(delivery_id)
        return WebhookCall(url=url, ok=False, status=503, error="HTTP 503")

    with mock.patch("cxloop.channels.outbound_webhook.post_signed", side_effect=refuse):
        at = T0
        for _ in range(5):
            run(at)
            timer = JourneyTimer.objects.filter(enrolment=enrolment).first()
            at = timer.due_at if timer else at

    enrolment.refresh_from_db()
    assert calls == [f"{enrolment.public_id}:1"] * 5  # the same delivery id on every attempt
    assert [o for _, o in history(enrolment)] == ["entered", "retry", "retry", "retry", "retry", "failed"]
    assert enrolment.state == "failed"
    retries = EnrolmentStep.objects.filter(enrolment=enrolment, outcome="retry").order_by("seq")
    assert [r.detail["retry_at"] for r in retries][:2] == [
        (T0 + timedelta(minutes=1)).isoformat(),
        (T0 + timedelta(minutes=6)).isoformat(),
    ]


@pytest.mark.parametrize("status", [400, 404, 410])
def test_a_webhook_refused_for_good_fails_the_enrolment_at_once(db, status):
    journey = active_journey(WEBHOOK)
    enrolment = _enrol(journey, customer())
    refused = WebhookCall(url="https://example.com/hook", ok=False, status=status, error=f"HTTP {status}")

    with mock.patch("cxloop.channels.outbound_webhook.post_signed", return_value=refused) as post:
        run(T0)
        run(T0 + timedelta(hours=3))

    enrolment.refresh_from_db()
    assert post.call_count == 1
    assert enrolment.state == "failed"
    assert [o for _, o in history(enrolment)] == ["entered", "failed"]


def test_a_webhook_retry_waits_for_the_receivers_retry_after(db):
    journey = active_journey(WEBHOOK)
    enrolment = _enrol(journey, customer())
    busy = WebhookCall(url="https://example.com/hook", ok=False, status=429, error="HTTP 429", retry_after="600")

    with mock.patch("cxloop.channels.outbound_webhook.post_signed", return_value=busy):
        run(T0)

    retry = EnrolmentStep.objects.get(enrolment=enrolment, outcome="retry")
    assert retry.detail["retry_at"] == (T0 + timedelta(minutes=10)).isoformat()  # not our first 1 minute


def test_a_webhook_that_answers_moves_on(db):
    journey = active_journey(WEBHOOK)
    enrolment = _enrol(journey, customer())
    ok = WebhookCall(url="https://example.com/hook", ok=True, status=200)

    with mock.patch("cxloop.channels.outbound_webhook.post_signed", return_value=ok) as post:
        run(T0)

    assert history(enrolment) == [("call", "entered"), ("call", "called"), ("bye", "exit")]
    assert post.call_args.kwargs["delivery_id"] == f"{enrolment.public_id}:1"
    assert post.call_args.args[1]["customer"]["id"] == enrolment.customer.public_id


def test_open_case_and_task_steps_open_cases(db):
    from cxloop.cases.models import Case

    journey = active_journey(
        """
key: cases
name: Cases
trigger: {kind: manual}
steps:
  - {id: case, kind: open_case, subject: Call them, goal: Learn why, priority: high, next: task}
  - {id: task, kind: open_case, subject: Check the account, task: true, next: bye}
  - {id: bye, kind: exit}
"""
    )
    ann = customer()
    enrolment = _enrol(journey, ann)

    run(T0)

    cases = list(Case.objects.filter(customer=ann).order_by("pk").values_list("subject", "priority"))
    assert cases == [("Call them", "high"), ("Check the account", "normal")]
    assert [o for _, o in history(enrolment)] == ["entered", "opened", "opened", "exit"]
    assert detail(enrolment, "opened")["task"] is True


def test_a_survey_step_invites_through_feedback(db):
    from cxloop.feedback.models import Invitation
    from tests.feedback.factories import SurveyFactory

    SurveyFactory(key="csat")
    journey = active_journey(
        """
key: ask
name: Ask
trigger: {kind: manual}
steps:
  - {id: ask, kind: send_survey, survey: csat, channel: email, next: bye}
  - {id: bye, kind: exit}
"""
    )
    ann = customer()
    enrolment = _enrol(journey, ann)

    run(T0)

    invitation = Invitation.objects.get(customer=ann)
    assert (invitation.channel, invitation.trigger_ref) == ("email", f"journey:{enrolment.public_id}:1")
    assert history(enrolment) == [("ask", "entered"), ("ask", "invited"), ("bye", "exit")]


def test_run_at_a_moment_that_is_not_due_changes_nothing(templates):
    journey = active_journey(WELCOME)
    enrolment = _enrol(journey, customer(), at=datetime(2026, 3, 5, tzinfo=UTC))

    assert run(T0) == 0
    assert history(enrolment) == [("hello", "entered")]


def test_a_batch_that_fails_after_sending_rolls_back_and_its_enrolments_send_once(templates):
    # given: a chunk whose writes fail after send_messages made its messages (as a worker killed there)
    from cxloop.journeys import batch

    journey = active_journey(WELCOME)
    people = [customer(f"P{n}", email=f"p{n}@example.com") for n in range(3)]
    for n, who in enumerate(people):
        _enrol(journey, who, f"manual:{n}")
    real_save = batch._save
    with mock.patch.object(batch, "_save", side_effect=RuntimeError("killed")):
        with pytest.raises(RuntimeError):
            batch.run_batch(list(Enrolment.objects.values_list("pk", flat=True)), now=T0, actor=SYSTEM)
        assert OutboundMessage.objects.count() == 0

    # when: the timers are claimed again (through the batch path)
    with mock.patch.object(batch, "_save", side_effect=real_save) as saved:
        run(T0)

    # then
    assert saved.call_count == 1
    assert [messages(who) for who in people] == [["t-hello"]] * 3
    for enrolment in Enrolment.objects.all():
        assert history(enrolment) == [("hello", "entered"), ("hello", "sent"), ("pause", "waiting")]


def test_a_goal_already_met_when_the_timer_comes_ends_the_enrolment_before_the_step(templates):
    from cxloop.customers.services import update_customer

    goal = "goal: {field: tags, operator: contains, value: paid}\n"
    journey = active_journey(WELCOME.replace("reentry:", goal + "reentry:"))
    ann = customer()
    enrolment = _enrol(journey, ann)
    run(T0)
    update_customer(SYSTEM, ann, {"tags": ["paid"]})  # no event: the goal is seen when the wait ends

    run(T0 + timedelta(days=2))

    enrolment.refresh_from_db()
    assert (enrolment.state, enrolment.step, enrolment.exit_reason) == ("goal", "pause", "goal reached")
    assert history(enrolment)[-1] == ("pause", "goal")
    assert detail(enrolment, "goal") == {
        "checks": [{"field": "tags", "operator": "contains", "expected": "paid", "value": ["paid"], "result": True}]
    }
    assert messages(ann) == ["t-hello"]
    assert not JourneyTimer.objects.filter(enrolment=enrolment).exists()
