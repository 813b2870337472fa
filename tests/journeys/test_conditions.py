"""Conditions evaluated against a customer, with the values read; times of day across daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cxloop.journeys.conditions import EventFacts, Facts, evaluate, event_types_named, facts_for
from cxloop.journeys.documents import build_condition
from cxloop.journeys.steps import next_time_of_day
from tests.journeys.runtime import customer

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FACTS = Facts(
    NOW,
    None,
    profile={"country": "GB", "locale": "en"},
    attributes={"plan": "pro", "seats": 12, "renewal_on": "2026-04-01"},
    tags=("vip", "beta"),
    event=EventFacts("order.placed", NOW, {"total": 120.5, "shipping": {"country": "FR"}}),
)


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"field": "profile.country", "operator": "eq", "value": "gb"}, True),
        ({"field": "attributes.seats", "operator": "gte", "value": 10}, True),
        ({"field": "attributes.seats", "operator": "lt", "value": "10"}, False),
        ({"field": "attributes.renewal_on", "operator": "lt", "value": "2026-05-01"}, True),
        ({"field": "attributes.missing", "operator": "exists"}, False),
        ({"field": "attributes.missing", "operator": "exists", "value": False}, True),
        ({"field": "attributes.missing", "operator": "ne", "value": 1}, True),
        ({"field": "tags", "operator": "contains", "value": "VIP"}, True),
        ({"field": "tags", "operator": "in", "value": ["gold", "beta"]}, True),
        ({"field": "event.type", "operator": "eq", "value": "order.placed"}, True),
        ({"field": "event.properties.shipping.country", "operator": "in", "value": ["DE", "FR"]}, True),
        ({"field": "event.properties.total", "operator": "gt", "value": 200}, False),
        (
            {
                "all": [
                    {"field": "tags", "operator": "contains", "value": "vip"},
                    {"not": {"field": "tags", "operator": "contains", "value": "churned"}},
                ]
            },
            True,
        ),
        (
            {
                "any": [
                    {"field": "profile.locale", "operator": "eq", "value": "fr"},
                    {"field": "attributes.plan", "operator": "eq", "value": "free"},
                ]
            },
            False,
        ),
    ],
)
def test_comparisons(condition, holds):
    assert evaluate(build_condition(condition), FACTS).holds is holds


def test_the_explanation_lists_what_was_read_and_stops_where_the_answer_is_known():
    condition = build_condition(
        {
            "any": [
                {"field": "event.properties.total", "operator": "gte", "value": 100},
                {"field": "attributes.plan", "operator": "eq", "value": "free"},
            ]
        }
    )

    verdict = evaluate(condition, FACTS)

    assert verdict.holds is True
    assert verdict.checks == [
        {"field": "event.properties.total", "operator": "gte", "expected": 100, "value": 120.5, "result": True}
    ]


def test_has_event_counts_the_customers_stored_events_within_the_window(db):
    from cxloop.events.models import Event, EventType

    ann = customer()
    used = EventType.objects.create(key="product.used", name="Used")
    for n, days_ago in enumerate((1, 3, 40)):
        Event.objects.create(
            event_id=f"e{n}", event_type=used, customer=ann, occurred_at=NOW - timedelta(days=days_ago),
            properties={"feature": "export" if n == 0 else "search"},
        )  # fmt: skip
    facts = facts_for(ann, now=NOW)
    recent = build_condition({"has_event": "product.used", "within": "10 days", "min_count": 2})
    exported = build_condition(
        {
            "has_event": "product.used",
            "where": {"field": "event.properties.feature", "operator": "eq", "value": "export"},
        }
    )

    assert evaluate(recent, facts).checks == [
        {"has_event": "product.used", "within": "10 days", "found": 2, "min_count": 2, "result": True}
    ]
    assert evaluate(exported, facts).checks == [
        {"has_event": "product.used", "where": True, "found": 1, "min_count": 1, "result": True}
    ]
    assert evaluate(build_condition({"has_event": "product.used", "min_count": 4}), facts).holds is False


def test_facts_read_profile_attributes_and_tags(db):
    ann = customer(time_zone="Europe/Paris", attributes={})

    facts = facts_for(ann, now=NOW)

    assert (facts.profile["time_zone"], facts.profile["country"], list(facts.tags)) == ("Europe/Paris", "GB", [])
    assert facts.customer_pk == ann.pk


def test_the_event_types_a_condition_names():
    condition = build_condition(
        {
            "any": [
                {"has_event": "subscription.started"},
                {"field": "event.type", "operator": "in", "value": ["a.b", "c.d"]},
                {"not": {"field": "tags", "operator": "contains", "value": "x"}},
            ]
        }
    )

    assert event_types_named(condition) == {"subscription.started", "a.b", "c.d"}
    assert event_types_named(build_condition({"field": "event.properties.x", "operator": "exists"})) == {"*"}
    assert event_types_named(None) == set()


PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("after", "zone", "expected"),
    [
        # the day before Europe springs forward (29 March 2026): 10:00 is 09:00 UTC, the day after 08:00 UTC
        (datetime(2026, 3, 28, 12, 0, tzinfo=UTC), PARIS, datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
        (datetime(2026, 3, 28, 8, 0, tzinfo=UTC), PARIS, datetime(2026, 3, 28, 9, 0, tzinfo=UTC)),
        # autumn (25 October 2026): 10:00 goes back to 09:00 UTC
        (datetime(2026, 10, 24, 12, 0, tzinfo=UTC), PARIS, datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),
        # New York's change (8 March 2026) is another day than Europe's
        (datetime(2026, 3, 7, 16, 0, tzinfo=UTC), NEW_YORK, datetime(2026, 3, 8, 14, 0, tzinfo=UTC)),
        # exactly at the time: the next day
        (datetime(2026, 6, 1, 8, 0, tzinfo=UTC), PARIS, datetime(2026, 6, 2, 8, 0, tzinfo=UTC)),
    ],
)
def test_the_next_time_of_day_in_the_customers_zone_across_daylight_saving(after, zone, expected):
    assert next_time_of_day(after, time(10, 0), zone) == expected
