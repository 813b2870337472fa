"""What enrols, wakes and converts: customer events (through the subscriber and the catch-up), date attributes,
segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest

from cxloop.core import clock
from cxloop.events import services as event_services
from cxloop.events.types import CustomerRef, EventInput
from cxloop.journeys import subscribers
from cxloop.journeys.models import Enrolment, EnrolmentStep
from tests.journeys.runtime import SYSTEM, active_journey, customer, event_type, history, messages, run, template

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

ORDERS = """
key: orders
name: Orders
trigger:
  kind: event
  event: order.placed
  conditions: {field: event.properties.total, operator: gte, value: 50}
goal: {has_event: review.written}
reentry: {policy: always}
steps:
  - {id: thanks, kind: send_message, channel: email, template: thanks, purpose: service, next: wait_delivery}
  - id: wait_delivery
    kind: wait
    event: order.delivered
    where: {field: event.properties.ok, operator: eq, value: true}
    timeout: 5 days
    next: ask
    on_timeout: sorry
  - {id: ask, kind: send_message, channel: email, template: ask, purpose: service, next: wait_review}
  - {id: wait_review, kind: wait, duration: 30 days, next: bye}
  - {id: sorry, kind: send_message, channel: email, template: sorry, purpose: service, next: bye}
  - {id: bye, kind: exit}
"""


@pytest.fixture(autouse=True)
def _fresh_relevance():  # type: ignore[no-untyped-def]
    subscribers.invalidate()
    with mock.patch.object(clock, "now", return_value=NOW), mock.patch("django.utils.timezone.now", return_value=NOW):
        yield
    subscribers.invalidate()


@pytest.fixture
def shop(db: None):  # type: ignore[no-untyped-def]
    for key in ("order.placed", "order.delivered", "review.written", "page.viewed"):
        event_type(key)
    for key in ("thanks", "ask", "sorry"):
        template(key)
    return active_journey(ORDERS)


def _send(capture, who, event_id: str, type_: str, at: datetime = NOW, **properties):  # type: ignore[no-untyped-def]
    with capture(execute=True):
        results = event_services.ingest_events(
            SYSTEM,
            [EventInput(event_id, type_, CustomerRef(id=who.public_id), occurred_at=at, properties=properties)],
        )
    assert results[0].status in ("stored", "duplicate"), results[0].error


def test_an_event_enrols_when_the_conditions_hold(shop, django_capture_on_commit_callbacks):
    ann = customer()

    _send(django_capture_on_commit_callbacks, ann, "o1", "order.placed", total=80)
    _send(django_capture_on_commit_callbacks, ann, "o2", "order.placed", total=20)
    _send(django_capture_on_commit_callbacks, ann, "o1", "order.placed", total=80)  # resent: nothing new

    enrolment = Enrolment.objects.get()
    assert (enrolment.trigger_ref, enrolment.customer_id) == ("event:o1", ann.pk)
    assert enrolment.context["event"]["properties"] == {"total": 80}
    run(NOW)
    assert messages(ann) == ["thanks"]


def test_an_awaited_event_wakes_the_wait_only_when_where_holds(shop, django_capture_on_commit_callbacks):
    ann = customer()
    _send(django_capture_on_commit_callbacks, ann, "o1", "order.placed", total=80)
    run(NOW)
    enrolment = Enrolment.objects.get()
    assert (enrolment.step, enrolment.waiting_for) == ("wait_delivery", "order.delivered")

    _send(django_capture_on_commit_callbacks, ann, "d0", "order.delivered", ok=False)
    enrolment.refresh_from_db()
    assert enrolment.waiting_for == "order.delivered"

    _send(django_capture_on_commit_callbacks, ann, "d1", "order.delivered", ok=True)
    run(NOW)

    enrolment.refresh_from_db()
    assert messages(ann) == ["thanks", "ask"]
    assert history(enrolment)[-3:] == [("wait_delivery", "woken"), ("ask", "sent"), ("wait_review", "waiting")]
    woken = EnrolmentStep.objects.get(enrolment=enrolment, outcome="woken")
    assert woken.detail["event_id"] == "d1"


def test_a_wait_for_an_event_times_out_to_its_other_step(shop, django_capture_on_commit_callbacks):
    ann = customer()
    _send(django_capture_on_commit_callbacks, ann, "o1", "order.placed", total=80)
    run(NOW)

    run(NOW + timedelta(days=5))

    assert messages(ann) == ["thanks", "sorry"]
    assert Enrolment.objects.get().state == "exited"


def test_the_goal_is_met_when_its_event_comes(shop, django_capture_on_commit_callbacks):
    ann = customer()
    _send(django_capture_on_commit_callbacks, ann, "o1", "order.placed", total=80)
    run(NOW)

    _send(django_capture_on_commit_callbacks, ann, "r1", "review.written")

    enrolment = Enrolment.objects.get()
    assert (enrolment.state, enrolment.exit_reason) == ("goal", "goal reached")
    assert history(enrolment)[-1] == ("wait_delivery", "goal")
    assert run(NOW + timedelta(days=6)) == 0
    assert messages(ann) == ["thanks"]


def test_events_no_journey_uses_cost_no_query(shop, django_assert_num_queries):
    ann = customer()
    subscribers.relevance()  # built once
    from cxloop.events.events import CustomerEventReceived

    event = CustomerEventReceived(event_id="p1", customer_id=ann.public_id, type="page.viewed", occurred_at="")

    with django_assert_num_queries(0):
        subscribers.on_customer_event(event)


def test_the_catch_up_handles_events_whose_subscriber_never_ran(shop, django_capture_on_commit_callbacks):
    ann, bea = customer(), customer("Bea", email="bea@example.com")
    _send(django_capture_on_commit_callbacks, ann, "o1", "order.placed", total=80)
    run(NOW)
    with mock.patch.object(subscribers, "handle_event"):  # the process dies before the subscriber runs
        _send(django_capture_on_commit_callbacks, bea, "o2", "order.placed", total=90)
        _send(django_capture_on_commit_callbacks, ann, "d1", "order.delivered", ok=True)
    assert Enrolment.objects.count() == 1

    first = subscribers.catch_up(now=NOW + timedelta(minutes=5))
    again = subscribers.catch_up(now=NOW + timedelta(minutes=6))

    assert first == {"events": 3, "enrolled": 1, "woken": 1, "goals": 0}
    assert again == {"events": 3, "enrolled": 0, "woken": 0, "goals": 0}
    assert sorted(Enrolment.objects.values_list("trigger_ref", flat=True)) == ["event:o1", "event:o2"]
    assert Enrolment.objects.get(trigger_ref="event:o1").step == "ask"


RENEWAL = """
key: renewal
name: Renewal
trigger:
  kind: date_attribute
  attribute: renewal_on
  offset: {duration: 30 days, direction: before}
  time_of_day: "09:00"
steps:
  - {id: bye, kind: exit}
"""


def test_a_date_attribute_enrols_once_when_its_day_and_time_come(db):
    from cxloop.customers.services import define_attribute

    define_attribute(SYSTEM, key="renewal_on", label="Renewal", type="date")
    journey = active_journey(RENEWAL)
    due = customer("Due", email="due@example.com", time_zone="Europe/London", attributes={"renewal_on": "2026-04-01"})
    customer("Later", email="later@example.com", attributes={"renewal_on": "2026-05-01"})

    before = subscribers.sweep_date_triggers(now=datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    at_nine = subscribers.sweep_date_triggers(now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    again = subscribers.sweep_date_triggers(now=datetime(2026, 3, 2, 10, 0, tzinfo=UTC))

    assert (before, at_nine, again) == (0, 1, 0)
    enrolment = Enrolment.objects.get(journey=journey)
    assert (enrolment.customer_id, enrolment.trigger_ref) == (due.pk, "date:renewal_on:2026-04-01")


def test_entering_a_segment_enrols_into_its_journeys(db):
    active_journey(
        "key: seg\nname: Seg\ntrigger: {kind: segment, segment: at-risk}\nsteps:\n  - {id: bye, kind: exit}\n"
    )
    ann, bea = customer(), customer("Bea", email="bea@example.com")

    assert subscribers.on_segment_entered("at-risk", [ann.pk, bea.pk], now=NOW) == 2
    assert subscribers.on_segment_entered("at-risk", [ann.pk], now=NOW) == 0  # entered today already
    assert subscribers.on_segment_entered("loyal", [ann.pk], now=NOW) == 0
    assert Enrolment.objects.count() == 2


def test_the_win_back_example_runs_from_the_date_sweep_to_the_owners_case(db, bob):
    from cxloop.cases.models import Case
    from cxloop.customers.services import define_attribute
    from cxloop.journeys import services

    # given: the shipped win-back journey; a customer whose last email came 30 days before, owned by bob, no consent
    define_attribute(SYSTEM, key="account_owner", label="Owner", type="text")
    event_type("session.started")
    template("win-back-we-miss-you", purpose="marketing")
    services.activate_journey(SYSTEM, services.install_example(SYSTEM, "win_back"))
    quiet = customer(attributes={"account_owner": "bob"}, time_zone="Europe/London")
    inbound(quiet, datetime(2026, 1, 31, 15, 0, tzinfo=UTC))

    # when: the sweep at 10:00 London time 30 days later, then the 14 days of the wait
    assert subscribers.sweep_date_triggers(now=datetime(2026, 3, 2, 10, 0, tzinfo=UTC)) == 1
    run(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    run(datetime(2026, 3, 16, 10, 0, tzinfo=UTC))

    # then
    enrolment = Enrolment.objects.get()
    assert [o for _, o in history(enrolment)] == [
        "entered", "branch", "blocked", "waiting", "timeout", "opened", "done", "exit",
    ]  # fmt: skip
    assert EnrolmentStep.objects.get(enrolment=enrolment, outcome="blocked").detail["code"] != ""
    case = Case.objects.get(customer=quiet)
    assert (case.subject, case.owner) == ("Customer silent for 44 days", bob.user)
    assert list(quiet.tags.values_list("name", flat=True)) == ["at-risk"]
    assert (enrolment.state, enrolment.exit_reason) == ("exited", "handed to the account owner")


def inbound(who: Any, at: datetime, channel: str = "email") -> None:
    from cxloop.interactions.services import record_interaction
    from cxloop.interactions.types import InteractionInput

    record_interaction(SYSTEM, who, InteractionInput(channel=channel, direction="inbound", occurred_at=at, body="hi"))


SILENT = """
key: silent
name: Silent
trigger:
  kind: date_attribute
  attribute: activity.last
  offset: {duration: 30 days, direction: after}
  time_of_day: "10:00"
reentry: {policy: always}
steps:
  - {id: bye, kind: exit}
"""


def test_a_customer_silent_for_exactly_the_days_is_enrolled_once_from_their_real_activity(db):
    from cxloop.interactions.services import record_interaction
    from cxloop.interactions.types import InteractionInput

    journey = active_journey(SILENT)
    event_type("session.started")
    # given: one silent since an inbound email on 31 January; one who wrote since; one with an event since;
    # one whose only contact was our own outbound email; one silent for 31 days
    silent = customer("Silent", email="silent@example.com", time_zone="Europe/London")
    inbound(silent, datetime(2026, 1, 31, 15, 0, tzinfo=UTC))
    wrote = customer("Wrote", email="wrote@example.com")
    inbound(wrote, datetime(2026, 1, 31, 15, 0, tzinfo=UTC))
    inbound(wrote, datetime(2026, 2, 20, 9, 0, tzinfo=UTC), channel="sms")
    acted = customer("Acted", email="acted@example.com")
    inbound(acted, datetime(2026, 1, 31, 15, 0, tzinfo=UTC))
    with mock.patch.object(clock, "now", return_value=datetime(2026, 2, 25, 12, 0, tzinfo=UTC)):
        event_services.ingest_events(
            SYSTEM,
            [
                EventInput(
                    "e-acted", "session.started", CustomerRef(id=acted.public_id), occurred_at=NOW - timedelta(days=5)
                )
            ],
        )
    told = customer("Told", email="told@example.com")
    record_interaction(
        SYSTEM,
        told,
        InteractionInput(channel="email", direction="outbound", occurred_at=NOW - timedelta(days=30), body="hello"),
    )
    older = customer("Older", email="older@example.com")
    inbound(older, datetime(2026, 1, 28, 15, 0, tzinfo=UTC))

    before = subscribers.sweep_date_triggers(now=datetime(2026, 3, 2, 9, 59, tzinfo=UTC))
    at_ten = subscribers.sweep_date_triggers(now=datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    again = subscribers.sweep_date_triggers(now=datetime(2026, 3, 2, 11, 0, tzinfo=UTC))

    assert (before, at_ten, again) == (0, 1, 0)
    enrolment = Enrolment.objects.get(journey=journey)
    assert (enrolment.customer_id, enrolment.trigger_ref) == (silent.pk, "inactive:2026-01-31")


def _win_back(customer_fields: dict[str, Any]) -> Any:
    from cxloop.customers.services import define_attribute
    from cxloop.journeys import services

    define_attribute(SYSTEM, key="account_owner", label="Owner", type="text")
    template("win-back-we-miss-you", purpose="marketing")
    services.activate_journey(SYSTEM, services.install_example(SYSTEM, "win_back"))
    subscribers.invalidate()
    return customer(**customer_fields)


def test_a_customer_who_writes_while_the_win_back_waits_comes_back(db, django_capture_on_commit_callbacks):
    from cxloop.cases.models import Case

    # given: a silent customer enrolled by the sweep and waiting after the message
    quiet = _win_back({"attributes": {"account_owner": "bob"}, "time_zone": "Europe/London"})
    inbound(quiet, datetime(2026, 1, 31, 15, 0, tzinfo=UTC))
    assert subscribers.sweep_date_triggers(now=datetime(2026, 3, 2, 10, 0, tzinfo=UTC)) == 1
    run(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))

    # when: they reply by SMS five days later (the subscriber of interaction.recorded runs on commit)
    replied = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    with mock.patch.object(clock, "now", return_value=replied), django_capture_on_commit_callbacks(execute=True):
        inbound(quiet, replied, channel="sms")
    run(replied)

    # then: the wait woke on their activity, and coming back is the goal; no case
    enrolment = Enrolment.objects.get()
    assert [o for _, o in history(enrolment)] == ["entered", "branch", "blocked", "waiting", "woken", "goal"]
    assert (enrolment.state, enrolment.exit_reason) == ("goal", "goal reached")
    assert Case.objects.count() == 0


def test_our_own_outbound_message_does_not_wake_the_win_back(db, django_capture_on_commit_callbacks):
    from cxloop.interactions.services import record_interaction
    from cxloop.interactions.types import InteractionInput

    quiet = _win_back({"time_zone": "Europe/London"})
    inbound(quiet, datetime(2026, 1, 31, 15, 0, tzinfo=UTC))
    subscribers.sweep_date_triggers(now=datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    run(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))

    at = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    with mock.patch.object(clock, "now", return_value=at), django_capture_on_commit_callbacks(execute=True):
        record_interaction(SYSTEM, quiet, InteractionInput(channel="email", direction="outbound", body="Hello?"))

    enrolment = Enrolment.objects.get()
    assert (enrolment.state, enrolment.step, enrolment.waiting_for) == ("active", "wait_return", "activity")


def test_the_dry_run_shows_the_win_back_path_for_a_customer_who_returns(db):
    from cxloop.journeys.documents import load_example
    from cxloop.journeys.dry_run import DryRunEvent, dry_run

    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    back = start + timedelta(days=3)

    walk = dry_run(load_example("win_back"), customer(), events=[DryRunEvent("order.placed", back)], start=start)

    assert [(s.step, s.outcome) for s in walk.steps] == [
        ("still_away", "entered"),
        ("still_away", "branch"),
        ("we_miss_you", "would_run"),
        ("wait_return", "waiting"),
        ("wait_return", "goal"),
    ]
    assert (walk.outcome, walk.reason) == ("goal", "goal reached during a wait")
