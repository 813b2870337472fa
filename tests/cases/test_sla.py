"""SLA clocks: policy choice, pause and resume, responses, reopening, re-targeting, the sweep, the summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cxloop.accounts.models import Notification
from cxloop.cases.events import SlaBreached, SlaWarning
from cxloop.cases.models import Case, SlaClock
from cxloop.cases.queries import sla as sla_queries
from cxloop.cases.services import sla
from cxloop.core.errors import PermissionDeniedError
from cxloop.events.bus import DomainEvent, subscribe, unsubscribe
from tests.cases.factories import (
    BusinessCalendarFactory,
    CaseFactory,
    CategoryFactory,
    HolidayFactory,
    SlaPolicyFactory,
    TeamCalendarFactory,
    TeamFactory,
)
from tests.customers.factories import CustomerFactory

T0 = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)  # a Monday
MIN = timedelta(minutes=1)


@pytest.fixture
def seen():
    """Every sla.* event delivered during the test."""
    events: list[DomainEvent] = []

    def keep(event: DomainEvent) -> None:
        if event.name.startswith("sla."):
            events.append(event)

    subscribe("*", keep)
    yield events
    unsubscribe("*", keep)


def _case(**kwargs) -> Case:  # type: ignore[no-untyped-def]
    return CaseFactory(opened_at=kwargs.pop("opened_at", T0), **kwargs)


def _clock(case: Case, metric: str) -> SlaClock:
    return SlaClock.objects.get(case=case, metric=metric, state__in=["running", "paused", "breached", "met"])


def _status(case: Case, status: str, at: datetime) -> None:
    previous, case.status = case.status, status
    Case.objects.filter(pk=case.pk).update(status=status)
    sla.on_status_changed(case, previous, at)


# --- choosing a policy --------------------------------------------------------------------------------------------


def test_first_matching_active_policy_by_position_applies(db):
    billing = CategoryFactory(key="billing")
    SlaPolicyFactory(name="Inactive urgent", position=0, priorities=["urgent"], is_active=False)
    gold = SlaPolicyFactory(name="Gold billing", position=1, categories=[billing], customer_tiers=["Gold"])
    SlaPolicyFactory(name="Everything", position=2)
    case = _case(priority="urgent", category=billing, customer=CustomerFactory(attributes={"tier": "gold"}))

    sla.start_clocks(case, T0)

    case.refresh_from_db()
    assert case.sla_policy_id == gold.pk
    assert case.sla_state == "ok"
    assert case.sla_next_due_at == T0 + 60 * MIN
    assert sorted(SlaClock.objects.filter(case=case).values_list("metric", "due_at", "warn_at")) == [
        ("first_response", T0 + 60 * MIN, T0 + 30 * MIN),
        ("resolution", T0 + 480 * MIN, T0 + 450 * MIN),
    ]


def test_the_tier_attribute_is_a_setting(db, settings):
    settings.CXLOOP_CUSTOMER_TIER_ATTRIBUTE = "plan"
    SlaPolicyFactory(name="Gold", customer_tiers=["gold"])
    gold, plain = _case(customer=CustomerFactory(attributes={"plan": "Gold"})), _case()

    sla.start_clocks(gold, T0)
    sla.start_clocks(plain, T0)

    assert gold.sla_policy is not None
    assert (plain.sla_policy_id, plain.sla_state, SlaClock.objects.filter(case=plain).count()) == (None, "none", 0)


def test_no_policy_means_no_clocks(db):
    case = _case()

    sla.start_clocks(case, T0)

    case.refresh_from_db()
    assert (case.sla_state, case.sla_next_due_at, case.sla_policy_id) == ("none", None, None)
    assert not SlaClock.objects.exists()


def test_hooks_leave_the_case_version_alone(db):
    SlaPolicyFactory()
    case = _case()

    sla.start_clocks(case, T0)
    sla.on_response(case, T0 + MIN)

    case.refresh_from_db()
    assert case.version == 1
    assert case.sla_state == "ok"


# --- calendars ----------------------------------------------------------------------------------------------------


def test_due_times_follow_the_team_calendar_and_its_holidays(db):
    team = TeamFactory(name="Support")
    calendar = BusinessCalendarFactory(time_zone="UTC")
    HolidayFactory(calendar=calendar, date=date(2024, 6, 11))
    TeamCalendarFactory(team=team, calendar=calendar)
    SlaPolicyFactory(first_response_minutes=9 * 60)
    case = _case(team=team, opened_at=datetime(2024, 6, 10, 16, 0, tzinfo=UTC))

    sla.start_clocks(case, case.opened_at)

    # 1 h on Monday, Tuesday is a holiday, 8 h on Wednesday
    assert _clock(case, "first_response").due_at == datetime(2024, 6, 12, 17, 0, tzinfo=UTC)


def test_default_calendar_serves_teams_without_one(db):
    BusinessCalendarFactory(name="Office", time_zone="UTC", is_default=True)
    SlaPolicyFactory(first_response_minutes=60)
    case = _case(opened_at=datetime(2024, 6, 8, 12, 0, tzinfo=UTC))  # Saturday

    sla.start_clocks(case, case.opened_at)

    assert _clock(case, "first_response").due_at == datetime(2024, 6, 10, 10, 0, tzinfo=UTC)


# --- waiting on the customer --------------------------------------------------------------------------------------


def test_waiting_on_the_customer_pauses_and_banks_the_time(db):
    SlaPolicyFactory()
    case = _case()
    sla.start_clocks(case, T0)

    _status(case, "waiting_on_customer", T0 + 20 * MIN)

    first = _clock(case, "first_response")
    assert (first.state, first.elapsed_seconds, first.due_at, first.resumed_at) == ("paused", 1200, None, None)
    assert (case.sla_state, case.sla_next_due_at) == ("paused", None)

    _status(case, "open", T0 + 5 * 60 * MIN)

    first.refresh_from_db()
    assert (first.state, first.due_at) == ("running", T0 + 5 * 60 * MIN + 40 * MIN)
    assert case.sla_next_due_at == first.due_at
    assert Case.objects.get(pk=case.pk).sla_state == "ok"


def test_a_breached_clock_paused_and_resumed_stays_breached(db):
    SlaPolicyFactory()
    case = _case()
    sla.start_clocks(case, T0)
    sla.sweep(T0 + 61 * MIN)

    _status(case, "waiting_on_customer", T0 + 70 * MIN)
    assert Case.objects.get(pk=case.pk).sla_state == "breached"
    _status(case, "open", T0 + 90 * MIN)

    first = _clock(case, "first_response")
    assert (first.state, first.due_at, first.elapsed_seconds) == ("breached", T0 + 60 * MIN, 70 * 60)


# --- responses ----------------------------------------------------------------------------------------------------


def test_a_response_meets_the_first_response_target(db):
    SlaPolicyFactory()
    case = _case()
    sla.start_clocks(case, T0)

    sla.on_response(case, T0 + 10 * MIN)

    first = _clock(case, "first_response")
    assert (first.state, first.met_at, first.elapsed_seconds, first.breached_at) == ("met", T0 + 10 * MIN, 600, None)
    assert case.sla_next_due_at == T0 + 480 * MIN  # the resolution target is next
    assert Case.objects.get(pk=case.pk).sla_next_due_at == T0 + 480 * MIN


def test_customer_message_after_the_first_response_starts_next_response_once(db):
    SlaPolicyFactory(next_response_minutes=120)
    case = _case()
    sla.start_clocks(case, T0)

    sla.on_customer_message(case, T0 + 5 * MIN)  # before any answer: first response still pending
    assert not SlaClock.objects.filter(metric="next_response").exists()

    case.first_response_at = T0 + 10 * MIN
    sla.on_response(case, T0 + 10 * MIN)
    sla.on_customer_message(case, T0 + 30 * MIN)
    sla.on_customer_message(case, T0 + 40 * MIN)

    nxt = SlaClock.objects.get(metric="next_response")
    assert (nxt.state, nxt.started_at, nxt.due_at) == ("running", T0 + 30 * MIN, T0 + 150 * MIN)

    sla.on_response(case, T0 + 60 * MIN)
    sla.on_customer_message(case, T0 + 70 * MIN)

    assert list(SlaClock.objects.filter(metric="next_response").values_list("state", flat=True).order_by("pk")) == [
        "met",
        "running",
    ]


def test_no_next_response_without_that_target(db):
    SlaPolicyFactory(next_response_minutes=None)
    case = _case(first_response_at=T0)
    sla.start_clocks(case, T0)

    sla.on_customer_message(case, T0 + MIN)

    assert not SlaClock.objects.filter(metric="next_response").exists()


# --- resolution and reopening -------------------------------------------------------------------------------------


def test_resolving_meets_resolution_and_cancels_pending_responses(db):
    SlaPolicyFactory()
    case = _case()
    sla.start_clocks(case, T0)

    _status(case, "resolved", T0 + 100 * MIN)

    states = dict(SlaClock.objects.filter(case=case).values_list("metric", "state"))
    assert states == {"first_response": "cancelled", "resolution": "met"}
    assert (case.sla_state, case.sla_next_due_at) == ("met", None)


def test_a_late_resolution_keeps_its_breach(db):
    SlaPolicyFactory(first_response_minutes=None, resolution_minutes=60)
    case = _case()
    sla.start_clocks(case, T0)
    sla.sweep(T0 + 61 * MIN)

    _status(case, "resolved", T0 + 90 * MIN)

    resolution = _clock(case, "resolution")
    assert (resolution.state, resolution.breached_at, resolution.met_at) == ("met", T0 + 61 * MIN, T0 + 90 * MIN)


def test_reopening_resumes_the_resolution_clock_where_it_stopped(db):
    SlaPolicyFactory(first_response_minutes=None, resolution_minutes=480)
    case = _case()
    sla.start_clocks(case, T0)
    _status(case, "resolved", T0 + 100 * MIN)

    _status(case, "open", T0 + 1000 * MIN)

    resolution = _clock(case, "resolution")
    assert (resolution.state, resolution.met_at, resolution.elapsed_seconds) == ("running", None, 6000)
    assert resolution.due_at == T0 + 1000 * MIN + 380 * MIN
    assert case.sla_state == "ok"


# --- re-targeting -------------------------------------------------------------------------------------------------


def test_a_priority_change_picks_the_new_policy_and_keeps_elapsed_time(db):
    SlaPolicyFactory(
        name="Urgent", position=0, priorities=["urgent"], first_response_minutes=30, resolution_minutes=None
    )
    SlaPolicyFactory(name="Normal", position=1)
    case = _case()
    sla.start_clocks(case, T0)

    case.priority = "urgent"
    sla.reevaluate(case, T0 + 20 * MIN)

    first = _clock(case, "first_response")
    assert (first.target_seconds, first.elapsed_seconds, first.due_at) == (1800, 1200, T0 + 30 * MIN)
    assert SlaClock.objects.get(case=case, metric="resolution").state == "cancelled"
    assert case.sla_policy.name == "Urgent"


def test_a_policy_added_later_counts_from_the_opening(db):
    case = _case(priority="low")
    sla.start_clocks(case, T0)
    SlaPolicyFactory(name="High", priorities=["high"], first_response_minutes=60, resolution_minutes=None)

    case.priority = "high"
    sla.reevaluate(case, T0 + 90 * MIN)

    first = _clock(case, "first_response")
    assert (first.elapsed_seconds, first.due_at, first.started_at) == (5400, T0 + 90 * MIN, T0)
    sla.sweep(T0 + 90 * MIN)
    assert Case.objects.get(pk=case.pk).sla_state == "breached"


def test_losing_every_policy_clears_the_summary(db):
    SlaPolicyFactory(priorities=["high"])
    case = _case(priority="high")
    sla.start_clocks(case, T0)

    case.priority = "low"
    sla.reevaluate(case, T0 + MIN)

    case.refresh_from_db()
    assert (case.sla_state, case.sla_next_due_at, case.sla_policy_id) == ("none", None, None)


# --- the sweep ----------------------------------------------------------------------------------------------------


def test_sweep_warns_then_breaches_once_each(db, seen, django_capture_on_commit_callbacks):
    SlaPolicyFactory(resolution_minutes=None)
    case = _case()
    sla.start_clocks(case, T0)

    with django_capture_on_commit_callbacks(execute=True):
        early = sla.sweep(T0 + 29 * MIN)
        warned = sla.sweep(T0 + 31 * MIN)
        again = sla.sweep(T0 + 32 * MIN)
    assert Case.objects.get(pk=case.pk).sla_state == "warning"
    with django_capture_on_commit_callbacks(execute=True):
        breached = sla.sweep(T0 + 60 * MIN)
        later = sla.sweep(T0 + 61 * MIN)

    assert [early, warned, again, breached, later] == [
        sla.SweepResult(0, 0, 0),
        sla.SweepResult(1, 0, 1),
        sla.SweepResult(0, 0, 0),
        sla.SweepResult(0, 1, 1),
        sla.SweepResult(0, 0, 0),
    ]
    due = (T0 + 60 * MIN).isoformat()
    assert seen == [
        SlaWarning(case_id=case.public_id, metric="first_response", due_at=due),
        SlaBreached(case_id=case.public_id, metric="first_response", due_at=due),
    ]
    case.refresh_from_db()
    assert (case.sla_state, case.sla_next_due_at, case.version) == ("breached", T0 + 60 * MIN, 1)
    first = _clock(case, "first_response")
    assert (first.state, first.warned_at, first.breached_at) == ("breached", T0 + 31 * MIN, T0 + 60 * MIN)


def test_a_clock_found_past_due_is_breached_without_a_late_warning(db, seen, django_capture_on_commit_callbacks):
    SlaPolicyFactory(resolution_minutes=None)
    case = _case()
    sla.start_clocks(case, T0)

    with django_capture_on_commit_callbacks(execute=True):
        result = sla.sweep(T0 + 3 * 60 * MIN)

    assert result == sla.SweepResult(warned=0, breached=1, cases=1)
    assert [e.name for e in seen] == ["sla.breached"]


def test_paused_and_met_clocks_are_not_swept(db):
    SlaPolicyFactory()
    paused, answered = _case(), _case()
    for case in (paused, answered):
        sla.start_clocks(case, T0)
    _status(paused, "waiting_on_customer", T0 + MIN)
    sla.on_response(answered, T0 + MIN)

    result = sla.sweep(T0 + 70 * MIN)

    assert result == sla.SweepResult(warned=0, breached=0, cases=0)  # resolution's warning comes at 450 min
    assert set(SlaClock.objects.values_list("breached_at", "warned_at")) == {(None, None)}


def test_sweep_is_set_based(db, monkeypatch):
    SlaPolicyFactory(resolution_minutes=None)
    cases = [_case() for _ in range(30)]
    for case in cases:
        sla.start_clocks(case, T0)
    monkeypatch.setattr(sla, "SWEEP_BATCH", 1000)

    with CaptureQueriesContext(connection) as captured:
        result = sla.sweep(T0 + 61 * MIN)

    assert result == sla.SweepResult(warned=0, breached=30, cases=30)
    assert len([q for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]) <= 6
    assert set(Case.objects.values_list("sla_state", flat=True)) == {"breached"}


def test_sweep_works_through_a_backlog_in_batches(db, monkeypatch):
    SlaPolicyFactory(resolution_minutes=None)
    for _ in range(7):
        sla.start_clocks(_case(), T0)
    monkeypatch.setattr(sla, "SWEEP_BATCH", 3)

    assert sla.sweep(T0 + 61 * MIN) == sla.SweepResult(warned=0, breached=7, cases=7)
    assert not SlaClock.objects.filter(state="running").exists()


# --- the summary --------------------------------------------------------------------------------------------------


def _c(state: str, **kwargs) -> SlaClock:  # type: ignore[no-untyped-def]
    return SlaClock(metric="resolution", state=state, target_seconds=60, started_at=T0, **kwargs)


@pytest.mark.parametrize(
    ("clocks", "active", "expected"),
    [
        ([], True, ("none", None)),
        ([_c("cancelled")], True, ("none", None)),
        ([_c("running", due_at=T0 + MIN, warn_at=T0 + MIN)], True, ("ok", T0 + MIN)),
        ([_c("running", due_at=T0 + MIN, warn_at=T0)], True, ("warning", T0 + MIN)),
        ([_c("breached", due_at=T0), _c("running", due_at=T0 - MIN, warn_at=T0 + MIN)], True, ("breached", T0 - MIN)),
        ([_c("met", breached_at=T0)], True, ("breached", None)),
        ([_c("met", breached_at=T0)], False, ("met", None)),
        ([_c("paused"), _c("met")], True, ("paused", None)),
        ([_c("met"), _c("cancelled")], True, ("met", None)),
        ([_c("paused"), _c("running", due_at=T0 + MIN, warn_at=T0 + MIN)], True, ("ok", T0 + MIN)),
    ],
)
def test_summary_rule(clocks, active, expected):
    assert sla.summarize(clocks, case_active=active, at=T0) == expected


# --- the case page query ------------------------------------------------------------------------------------------


def test_clocks_for_the_case_page(db, alice, monkeypatch):
    SlaPolicyFactory()
    case = _case()
    sla.start_clocks(case, T0)
    sla.on_response(case, T0 + 10 * MIN)
    monkeypatch.setattr("cxloop.core.clock.now", lambda: T0 + 100 * MIN)

    views = sla_queries.sla_clocks_for(alice.actor, case)

    assert [(v.metric, v.state, v.due_at, v.remaining_seconds, v.is_breached) for v in views] == [
        ("first_response", "met", T0 + 60 * MIN, 3000, False),
        ("resolution", "running", T0 + 480 * MIN, 380 * 60, False),
    ]


def test_clocks_need_case_view(db, ada):
    from cxloop.core.actor import Actor

    nobody = Actor(user=ada.user, permissions=frozenset())

    with pytest.raises(PermissionDeniedError):
        sla_queries.sla_clocks_for(nobody, _case())


def test_the_scheduled_task_sweeps(db, monkeypatch):
    from cxloop.cases import tasks

    SlaPolicyFactory(resolution_minutes=None)
    sla.start_clocks(_case(), T0)
    monkeypatch.setattr("cxloop.core.clock.now", lambda: T0 + 2 * 60 * MIN)

    assert tasks.sweep_sla.call() == {"warned": 0, "breached": 1, "cases": 1}
    assert tasks.sweep_sla.call() == {"warned": 0, "breached": 0, "cases": 0}


def test_the_case_services_drive_the_clocks(db, alice):
    from cxloop.cases.services import cases as case_services

    SlaPolicyFactory(first_response_minutes=60, resolution_minutes=480)
    case = case_services.open_case(
        alice.actor, case_services.CaseInput(customer=CustomerFactory(), subject="Card declined", route=False), at=T0
    )
    assert (case.sla_state, case.sla_next_due_at) == ("ok", T0 + 60 * MIN)

    case = case_services.change_status(alice.actor, case, "waiting_on_customer", at=T0 + 10 * MIN)
    assert case.sla_state == "paused"
    case = case_services.change_status(alice.actor, case, "resolved", at=T0 + 20 * MIN)

    stored = Case.objects.get(pk=case.pk)
    assert (stored.sla_state, stored.sla_next_due_at, stored.version) == ("met", None, case.version)
    assert dict(SlaClock.objects.filter(case=case).values_list("metric", "state")) == {
        "first_response": "cancelled",
        "resolution": "met",
    }


def test_the_owner_is_told_of_a_warning_and_of_a_breach(db, alice):
    SlaPolicyFactory(resolution_minutes=None)
    owned, unowned = _case(), _case()
    Case.objects.filter(pk=owned.pk).update(owner=alice.user)
    for case in (owned, unowned):
        sla.start_clocks(case, T0)

    sla.sweep(T0 + 31 * MIN)
    sla.sweep(T0 + 61 * MIN)

    notes = list(Notification.objects.order_by("id").values_list("user_id", "kind", "title", "url"))
    assert notes == [
        (alice.user.pk, "sla.warning", "Case is close to its first response target", f"/cases/{owned.public_id}/"),
        (alice.user.pk, "sla.breached", "Case missed its first response target", f"/cases/{owned.public_id}/"),
    ]
