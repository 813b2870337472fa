"""Journey analytics and reads: figures per journey and version from hand-placed enrolments, each figure one query,
the list and enrolment filters, cursor pages, a customer's enrolments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cxloop.core.errors import NotFoundError, PermissionDeniedError, ValidationError
from cxloop.journeys import analytics, queries, services
from cxloop.journeys.queries import EnrolmentFilters, JourneyFilters
from tests.customers.factories import CustomerFactory
from tests.journeys.factories import enrolment, make_journey, simple_source

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    from cxloop.core import clock

    monkeypatch.setattr(clock, "now", lambda: NOW)
    return NOW


@pytest.fixture
def busy(db, frozen):
    """welcome: v1 with 2 waiting, 1 at the goal, 2 exited (one twice the reason), 1 failed; v2 with 1 waiting."""
    journey = make_journey("welcome", status="active")
    v1 = journey.current_version
    day = timedelta(days=1)
    enrolment(journey, step="wait_a_day", passed=("welcome",), entered_at=NOW - 2 * day)
    enrolment(journey, step="wait_a_day", passed=("welcome",), entered_at=NOW)
    enrolment(journey, step="welcome", state="goal", entered_at=NOW - 2 * day)
    enrolment(journey, step="done", state="exited", exit_reason="finished", passed=("welcome", "wait_a_day"))
    enrolment(journey, step="done", state="exited", exit_reason="finished", passed=("welcome", "wait_a_day"))
    enrolment(journey, step="welcome", state="failed", entered_at=NOW - 40 * day)
    v2 = services.publish_version(services_actor(), journey, simple_source().replace("1 day", "2 days"))
    enrolment(journey, step="welcome", version=v2)
    return journey, v1, v2


def services_actor():
    from cxloop.core.actor import Actor

    return Actor.system("test")


def test_figures_of_a_journey(charlie, busy, django_assert_num_queries):
    journey, _, _ = busy

    with django_assert_num_queries(5):
        figures = analytics.journey_analytics(charlie.actor, journey, days=3)

    assert (figures.entered, figures.active, figures.goal, figures.exited, figures.failed) == (7, 3, 1, 2, 1)
    assert figures.conversion == pytest.approx(1 / 7)
    assert figures.exited_by_reason == {"finished": 2}
    assert figures.now_in_step == {"wait_a_day": 2, "welcome": 1}
    assert figures.passed_step == {"welcome": 7, "wait_a_day": 4, "done": 2}
    assert figures.per_day == [(date(2026, 3, 8), 2), (date(2026, 3, 9), 0), (date(2026, 3, 10), 4)]
    assert [(s.step, s.now, s.passed) for s in figures.steps(["welcome", "wait_a_day", "done"])] == [
        ("welcome", 1, 7),
        ("wait_a_day", 2, 4),
        ("done", 0, 2),
    ]


def test_figures_of_one_version(charlie, busy):
    journey, _, _ = busy

    first = analytics.journey_analytics(charlie.actor, journey, version=1)
    second = analytics.journey_analytics(charlie.actor, journey, version=2)

    assert (first.entered, first.active, first.goal, first.passed_step["welcome"]) == (6, 2, 1, 6)
    assert (second.entered, second.active, second.now_in_step, second.passed_step) == (
        1,
        1,
        {"welcome": 1},
        {"welcome": 1},
    )
    assert analytics.step_counts(charlie.actor, journey, version=1) == {"wait_a_day": 2}


def test_figures_by_version_and_summaries(charlie, busy, django_assert_num_queries):
    journey, _, _ = busy
    empty = make_journey("empty")

    with django_assert_num_queries(1):
        versions = analytics.by_version(charlie.actor, journey)
    with django_assert_num_queries(1):
        found = analytics.summaries(charlie.actor, [journey.pk, empty.pk])

    assert [(v.version, v.entered, v.active, v.goal, v.exited, v.failed) for v in versions] == [
        (2, 1, 1, 0, 0, 0),
        (1, 6, 2, 1, 2, 1),
    ]
    assert (found[journey.pk].entered, found[journey.pk].active, found[journey.pk].goal) == (7, 3, 1)
    assert (found[empty.pk].entered, found[empty.pk].conversion) == (0, None)


def test_a_step_only_an_old_version_had_comes_last(charlie, busy):
    journey, _, _ = busy
    enrolment(journey, step="retired_step")

    figures = analytics.journey_analytics(charlie.actor, journey)

    assert [s.step for s in figures.steps(["welcome", "wait_a_day", "done"])] == [
        "welcome",
        "wait_a_day",
        "done",
        "retired_step",
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"days": 0}, "days"), ({"days": 400}, "days"), ({"version": 0}, "version")]
)
def test_bad_analytics_parameters_are_refused(charlie, busy, kwargs, field):
    with pytest.raises(ValidationError) as refused:
        analytics.journey_analytics(charlie.actor, busy[0], **kwargs)

    assert set(refused.value.fields) == {field}


def test_the_list_filters_and_hides_archived_journeys(charlie, db):
    make_journey("alpha", status="active")
    make_journey("beta")
    make_journey("gamma", status="archived", event="order.paid")

    everyday = queries.list_journeys(charlie.actor)
    archived = queries.list_journeys(charlie.actor, JourneyFilters(status="archived"))
    found = queries.list_journeys(charlie.actor, JourneyFilters(text="ALP"))

    assert [j.key for j in everyday.items] == ["alpha", "beta"]
    assert [j.key for j in archived.items] == ["gamma"]
    assert [j.key for j in found.items] == ["alpha"]
    with pytest.raises(ValidationError) as refused:
        queries.list_journeys(charlie.actor, JourneyFilters(status="sleeping", trigger_kind="moon"))
    assert set(refused.value.fields) == {"status", "trigger"}


def test_a_journey_is_found_by_key_or_id(charlie, db):
    journey = make_journey("alpha")

    assert queries.get_journey(charlie.actor, "alpha") == journey
    assert queries.get_journey(charlie.actor, journey.public_id) == journey
    with pytest.raises(NotFoundError):
        queries.get_journey(charlie.actor, "beta")


def test_enrolments_filter_and_page_by_cursor(charlie, busy):
    journey, _, _ = busy

    waiting = queries.list_enrolments(charlie.actor, journey, EnrolmentFilters(state="active", step="wait_a_day"))
    on_v2 = queries.list_enrolments(charlie.actor, journey, EnrolmentFilters(version=2))
    first = queries.list_enrolments(charlie.actor, journey, limit=4)
    rest = queries.list_enrolments(charlie.actor, journey, cursor=first.next_cursor, limit=4)

    assert [e.step for e in waiting.items] == ["wait_a_day", "wait_a_day"]
    assert [e.version.number for e in on_v2.items] == [2]
    assert len(first.items) == 4
    assert (len(rest.items), rest.next_cursor) == (3, None)
    ids = [e.pk for e in first.items + rest.items]
    assert ids == sorted(ids, reverse=True)


def test_an_enrolment_comes_with_its_history(charlie, busy):
    journey, _, _ = busy
    row = enrolment(journey, step="wait_a_day", passed=("welcome",), detail={"why": "test"})

    found = queries.get_enrolment(charlie.actor, row.public_id, journey=journey)
    history = queries.history_of(charlie.actor, found)

    assert [(h.seq, h.step, h.outcome) for h in history] == [(0, "welcome", "done"), (1, "wait_a_day", "waiting")]
    other = make_journey("other")
    with pytest.raises(NotFoundError):
        queries.get_enrolment(charlie.actor, row.public_id, journey=other)


def test_a_customers_running_enrolments_come_first(charlie, busy):
    journey, _, _ = busy
    customer = CustomerFactory()
    running = enrolment(journey, step="wait_a_day", customer=customer)
    finished = enrolment(journey, step="done", state="exited", customer=customer)

    assert queries.enrolments_of_customer(charlie.actor, customer.pk) == [running, finished]


def test_reads_need_journeys_view(db, busy):
    from cxloop.core.actor import Actor

    nobody = Actor(user=None, via="test", permissions=frozenset())

    with pytest.raises(PermissionDeniedError):
        analytics.journey_analytics(nobody, busy[0])
    with pytest.raises(PermissionDeniedError):
        queries.list_journeys(nobody)
