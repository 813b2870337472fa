"""How well unhappy answers are followed up: loops closed within X hours, median hours to contact and to close,
outcomes, open loops by owner and by age; and the follow-up list's filters and pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.feedback.models import LoopRule
from cxloop.feedback.queries import loops as loop_queries
from cxloop.feedback.queries.loops import LoopFilters
from cxloop.feedback.services import loops
from tests.customers.factories import CustomerFactory
from tests.feedback.loop_helpers import answer

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def opened(customer, agent, at, *, score=3):  # type: ignore[no-untyped-def]
    loop = loops.open_loop(Actor.system("test"), answer(customer, score=score, agent=agent), at=at)
    assert loop is not None
    return loop


@pytest.fixture
def history(alice, bob):  # type: ignore[no-untyped-def]
    """Four loops opened in the week from T0 (three closed after 10, 30 and 60 hours, one open), one opened the day
    before (closed), one opened the week after (open, Bob's)."""
    customer = CustomerFactory(name="Ann Lee")
    rows = []
    for offset, contact, close, outcome in (
        (1, 2, 10, "recovered"),
        (2, 5, 30, "partly"),
        (3, 20, 60, "not_recovered"),
    ):
        loop = opened(customer, alice.user, T0 + offset * HOUR)
        loops.mark_contacted(alice.actor, loop, at=loop.opened_at + contact * HOUR)
        loops.close_loop(alice.actor, loop, outcome=outcome, at=loop.opened_at + close * HOUR)
        rows.append(loop)
    rows.append(opened(customer, alice.user, T0 + 4 * HOUR))
    before = opened(customer, alice.user, T0 - 24 * HOUR)
    loops.close_loop(alice.actor, before, outcome="no_response", at=before.opened_at + HOUR)
    rows.append(opened(customer, bob.user, T0 + 8 * 24 * HOUR))
    return rows


def test_the_measures_of_a_week(history, alice, bob, charlie):  # type: ignore[no-untyped-def]
    now = T0 + 8 * 24 * HOUR + HOUR

    week = loop_queries.loop_metrics(charlie.actor, since=T0, until=T0 + 7 * 24 * HOUR, now=now)
    within_a_day = loop_queries.loop_metrics(
        charlie.actor, since=T0, until=T0 + 7 * 24 * HOUR, within_hours=24, now=now
    )

    assert (week.opened, week.closed, week.closed_within, week.closed_within_share) == (4, 3, 2, 0.5)
    assert (within_a_day.closed_within, within_a_day.closed_within_share) == (1, 0.25)
    assert (week.median_hours_to_contact, week.median_hours_to_close) == (5.0, 30.0)
    assert week.outcomes == {"recovered": 1, "partly": 1, "not_recovered": 1, "no_response": 0}
    assert week.open_now == 2
    assert [(row.owner, row.open, row.contacted, row.oldest_opened_at) for row in week.open_by_owner] == [
        (alice.user, 1, 0, T0 + 4 * HOUR),
        (bob.user, 1, 0, T0 + 8 * 24 * HOUR),
    ]
    assert week.open_by_age == [
        ("lt24", "under 24 hours", 1),
        ("24to48", "24–48 hours", 0),
        ("2to7d", "2–7 days", 0),
        ("gt7d", "over 7 days", 1),
    ]


def test_a_period_without_loops_has_no_share():
    empty = loop_queries.loop_metrics(Actor.system("test"), since=T0, until=T0 + HOUR)

    assert (empty.opened, empty.closed_within_share, empty.median_hours_to_close) == (0, None, None)


def test_bad_periods_are_refused(charlie):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as backwards:
        loop_queries.loop_metrics(charlie.actor, since=T0, until=T0 - HOUR, within_hours=0)

    assert backwards.value.fields == {
        "until": "must be after since",
        "within_hours": "a whole number of hours from 1 to 2160",
    }


def test_follow_ups_filter_by_state_owner_rule_and_age(history, alice, bob, charlie):  # type: ignore[no-untyped-def]
    now = T0 + 8 * 24 * HOUR + HOUR
    still_open, bobs = history[3], history[4]
    detractor = LoopRule.objects.get(name="NPS detractor (≤ 6)")

    def ids(**filters):  # type: ignore[no-untyped-def]
        return [loop.pk for loop in loop_queries.filtered_loops(charlie.actor, LoopFilters(**filters), now=now)]

    assert sorted(ids()) == [still_open.pk, bobs.pk]
    assert ids(owner="bob") == [bobs.pk]
    assert ids(owner="-") == []
    assert len(ids(state="resolved")) == 4
    assert ids(state="active", age="gt7d") == [still_open.pk]
    assert len(ids(state="", rule=detractor.public_id)) == 6
    assert ids(state="", rule="lpr_unknown") == []
    with pytest.raises(ValidationError) as bad:
        ids(state="done", age="old")
    assert bad.value.fields == {
        "state": "must be one of (any), active, open, contacted, resolved",
        "age": "must be one of lt24, 24to48, 2to7d, gt7d",
    }


def test_follow_ups_come_a_page_at_a_time_oldest_active_first(history, charlie):  # type: ignore[no-untyped-def]
    first = loop_queries.list_loops(charlie.actor, LoopFilters(state=""), limit=4)
    second = loop_queries.list_loops(charlie.actor, LoopFilters(state=""), cursor=first.next_cursor, limit=4)
    active = loop_queries.list_loops(charlie.actor, LoopFilters())

    everything = [loop.pk for loop in first.items + second.items]
    assert len(everything) == 6
    assert len(set(everything)) == 6
    assert second.next_cursor is None
    assert [loop.pk for loop in active.items] == [history[3].pk, history[4].pk]


def test_reading_follow_ups_needs_feedback_view(history, alice):  # type: ignore[no-untyped-def]
    nobody = Actor(user=alice.user, permissions=frozenset())

    with pytest.raises(PermissionDeniedError):
        loop_queries.list_loops(nobody, LoopFilters())
    with pytest.raises(PermissionDeniedError):
        loop_queries.loop_metrics(nobody, since=T0, until=T0 + HOUR)
    assert loop_queries.find_loop_for_case(nobody, history[0].case_ref) is None
    assert loop_queries.find_loop_for_case(alice.actor, history[0].case_ref) == history[0]
