"""Business-time arithmetic: hours, holidays, overnight shifts, clock changes, always-open; plus properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxloop.cases.business_time import (
    CalendarError,
    CalendarSpec,
    add_business_seconds,
    business_microseconds_between,
    business_seconds_between,
    format_week,
    open_intervals,
    parse_week,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
HOUR = 3600


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def office(holidays: tuple[date, ...] = (), tz: str = "Europe/London") -> CalendarSpec:
    return CalendarSpec.from_hours(tz, OFFICE, holidays)


# --- examples ----------------------------------------------------------------------------------------------------


def test_counts_only_opening_hours_across_a_weekend():
    spec = office()
    friday_4pm = london(2024, 6, 7, 16, 0)

    due = add_business_seconds(spec, friday_4pm, 2 * HOUR)

    assert due == london(2024, 6, 10, 10, 0)  # 1 h on Friday, 1 h on Monday
    assert business_seconds_between(spec, friday_4pm, due) == 2 * HOUR


def test_start_outside_hours_waits_for_opening():
    spec = office()

    due = add_business_seconds(spec, london(2024, 6, 10, 6, 30), 30 * 60)

    assert due == london(2024, 6, 10, 9, 30)


def test_holiday_is_skipped():
    spec = office(holidays=(date(2024, 12, 25), date(2024, 12, 26)))

    due = add_business_seconds(spec, london(2024, 12, 24, 16, 0), 2 * HOUR)

    assert due == london(2024, 12, 27, 10, 0)
    assert business_seconds_between(spec, london(2024, 12, 25, 0, 0), london(2024, 12, 27, 0, 0)) == 0


def test_spring_forward_day_is_an_hour_shorter():
    spec = CalendarSpec.from_hours("Europe/London", {"sun": [["00:00", "24:00"]]})
    day = london(2024, 3, 31, 0, 0)

    assert business_seconds_between(spec, day, london(2024, 4, 1, 0, 0)) == 23 * HOUR
    assert add_business_seconds(spec, day, 2 * HOUR) == london(2024, 3, 31, 3, 0)  # 01:00-02:00 never happened


def test_fall_back_day_is_an_hour_longer():
    spec = CalendarSpec.from_hours("Europe/London", {"sun": [["00:00", "00:00"]]})

    assert business_seconds_between(spec, london(2024, 10, 27, 0, 0), london(2024, 10, 28, 0, 0)) == 25 * HOUR


def test_office_hours_stay_on_local_time_over_a_clock_change():
    spec = office(tz="America/New_York")
    friday = datetime(2024, 3, 8, 16, 0, tzinfo=NEW_YORK)  # EST; Monday is EDT

    due = add_business_seconds(spec, friday, 2 * HOUR)

    assert due == datetime(2024, 3, 11, 10, 0, tzinfo=NEW_YORK)
    assert due.astimezone(UTC) == datetime(2024, 3, 11, 14, 0, tzinfo=UTC)


def test_overnight_shift_runs_past_midnight_and_belongs_to_its_start_day():
    spec = CalendarSpec.from_hours("UTC", {"fri": [["22:00", "06:00"]]}, holidays=[date(2024, 6, 15)])
    friday_night = datetime(2024, 6, 7, 23, 0, tzinfo=UTC)

    assert add_business_seconds(spec, friday_night, 3 * HOUR) == datetime(2024, 6, 8, 2, 0, tzinfo=UTC)
    # Saturday 15 June is a holiday, but the shift that began on Friday the 14th still runs to 06:00.
    assert (
        business_seconds_between(spec, datetime(2024, 6, 14, 0, 0, tzinfo=UTC), datetime(2024, 6, 16, 0, 0, tzinfo=UTC))
        == 8 * HOUR
    )


def test_overlapping_intervals_count_once():
    spec = CalendarSpec.from_hours("UTC", {"mon": [["20:00", "04:00"]], "tue": [["00:00", "08:00"]]})
    monday = datetime(2024, 6, 10, 0, 0, tzinfo=UTC)

    assert business_seconds_between(spec, monday, monday + timedelta(days=2)) == 12 * HOUR
    assert list(open_intervals(spec, monday))[0] == (monday + timedelta(hours=20), monday + timedelta(hours=32))


def test_always_open_counts_every_second():
    spec = CalendarSpec.always("Europe/London")
    start = london(2024, 3, 30, 12, 0)  # the clocks go forward that night: 24 h later it is 13:00 there

    assert add_business_seconds(spec, start, 24 * HOUR) == london(2024, 3, 31, 13, 0)
    assert business_seconds_between(spec, start, london(2024, 4, 1, 12, 0)) == 47 * HOUR


def test_zero_seconds_is_the_start_even_when_closed():
    start = london(2024, 6, 8, 3, 0)  # a Saturday night

    assert add_business_seconds(office(), start, 0) == start


def test_end_before_start_is_zero():
    assert business_seconds_between(office(), london(2024, 6, 10, 12, 0), london(2024, 6, 10, 11, 0)) == 0


def test_a_calendar_with_no_hours_never_reaches_a_target():
    spec = CalendarSpec.from_hours("UTC", {})

    with pytest.raises(ValueError, match="no open time"):
        add_business_seconds(spec, datetime(2024, 1, 1, tzinfo=UTC), 60)
    assert business_seconds_between(spec, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)) == 0


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_seconds(office(), datetime(2024, 1, 1), 60)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("hours", "field", "reason"),
    [
        ({"mon": [["9:00", "17:00"]]}, "hours.mon", "times are HH:MM"),
        ({"tue": [["09:00", "24:30"]]}, "hours.tue", "times run from 00:00 to 23:59 (24:00 may end a day)"),
        ({"wed": [["24:00", "12:00"]]}, "hours.wed", "times run from 00:00 to 23:59 (24:00 may end a day)"),
        ({"thu": [["09:00"]]}, "hours.thu", "each interval is [start, end]"),
        ({"fri": "09:00-17:00"}, "hours.fri", "must be a list of [start, end]"),
        ({"funday": []}, "hours", "unknown day 'funday'; days are mon, tue, wed, thu, fri, sat, sun"),
    ],
)
def test_bad_hours_name_the_day_and_reason(hours, field, reason):
    with pytest.raises(CalendarError) as caught:
        parse_week(hours)

    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_unknown_time_zone_is_refused():
    with pytest.raises(CalendarError) as caught:
        CalendarSpec.always("Mars/Olympus")

    assert caught.value.field == "time_zone"


def test_format_week_round_trips():
    hours = {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "fri": [["22:00", "06:00"]], "sun": [["00:00", "24:00"]]}

    formatted = format_week(parse_week(hours))

    assert formatted == {"mon": hours["mon"], "tue": [], "wed": [], "thu": [], "fri": hours["fri"], "sat": [],
                         "sun": hours["sun"]}  # fmt: skip
    assert parse_week(formatted) == parse_week(hours)


# --- properties --------------------------------------------------------------------------------------------------

ZONES = st.sampled_from(["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"])
MINUTE = st.integers(min_value=0, max_value=24 * 60 - 1)


@st.composite
def intervals(draw: st.DrawFn) -> list[list[str]]:
    def hhmm(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    chosen = draw(st.lists(st.tuples(MINUTE, MINUTE), max_size=3))
    return [[hhmm(a), hhmm(b)] for a, b in chosen]


@st.composite
def specs(draw: st.DrawFn) -> CalendarSpec:
    tz = draw(ZONES)
    if draw(st.booleans()) and draw(st.booleans()):
        return CalendarSpec.always(tz)
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    hours = {d: draw(intervals()) for d in days}
    if not any(hours.values()):
        hours["mon"] = [["09:00", "17:00"]]
    holidays = draw(st.lists(st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 12, 31)), max_size=20))
    return CalendarSpec.from_hours(tz, hours, holidays)


MOMENTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2025, 6, 30), timezones=st.just(UTC))  # noqa: DTZ001


def weekly_seconds(spec: CalendarSpec) -> int:
    return 7 * 24 * HOUR if spec.always_open else sum(e - s for day in spec.week for s, e in day) * 60


@st.composite
def spec_and_seconds(draw: st.DrawFn, weeks: int = 3) -> tuple[CalendarSpec, int, int]:
    """A calendar and two durations of up to `weeks` weeks of its open time (a target spanning months of a
    calendar open a minute a week is no SLA anyone sets, and costs a loop per day)."""
    spec = draw(specs())
    bound = weeks * weekly_seconds(spec)
    return spec, draw(st.integers(0, bound)), draw(st.integers(0, bound))


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(spec_and_seconds(), MOMENTS)
def test_counting_the_added_time_gives_it_back(drawn, start):
    spec, seconds, _ = drawn
    due = add_business_seconds(spec, start, seconds)

    assert due >= start
    assert business_microseconds_between(spec, start, due) == seconds * 1_000_000


@FAST
@given(spec_and_seconds(), MOMENTS)
def test_adding_in_two_steps_is_adding_once(drawn, start):
    spec, first, second = drawn
    assert add_business_seconds(spec, add_business_seconds(spec, start, first), second) == add_business_seconds(
        spec, start, first + second
    )


@FAST
@given(specs(), MOMENTS, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)), st.floats(0, 1))
def test_business_time_is_additive_and_never_more_than_real_time(spec, start, span, split):
    end = start + span
    middle = start + span * split

    whole = business_microseconds_between(spec, start, end)

    assert whole == business_microseconds_between(spec, start, middle) + business_microseconds_between(
        spec, middle, end
    )
    assert 0 <= whole <= span // timedelta(microseconds=1)


@FAST
@given(spec_and_seconds(), MOMENTS)
def test_a_target_falls_due_at_the_end_of_open_time(drawn, start):
    spec, seconds, _ = drawn
    seconds = max(seconds, 1)
    due = add_business_seconds(spec, start, seconds)

    just_before = due - timedelta(microseconds=1)
    assert business_microseconds_between(spec, just_before, due) == 1  # the last microsecond was open
    begin, finish = next(open_intervals(spec, just_before))
    assert begin <= just_before < finish
