"""Business time: counting seconds only while a team is open.

Pure functions over a `CalendarSpec` (a business calendar with its holidays, read once), so SLA clocks can
compute due times without touching the database, and property tests can check the arithmetic directly.

How a calendar is read:
- `hours` gives, per weekday, intervals of local wall-clock time ("09:00"-"17:00"). An interval whose end is
  not after its start runs past midnight into the next day ("22:00"-"06:00" is a night shift; "00:00"-"00:00"
  and "00:00"-"24:00" are the whole day). An interval belongs to the day it starts on: a holiday closes the
  intervals that start on it, not the tail of the night shift that started the evening before.
- Wall-clock times become instants through the calendar's time zone, so a day on which the clocks change
  has as many business seconds as really pass between its opening and closing times (a 00:00-24:00 day
  is 23 hours long in spring, 25 in autumn). A time that does not exist that day (in the gap when clocks go
  forward) is read with the offset before the change, as `zoneinfo` does with fold=0.
- Overlapping intervals (a night shift running into the next day's early shift) count once.
- An always-open calendar counts every second; its time zone does not matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from cxloop.cases.models import BusinessCalendar

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
# How far ahead add_business_seconds looks for open time before giving up (holidays covering years).
MAX_SEARCH_DAYS = 366 * 5
_HHMM = re.compile(r"^(\d{2}):(\d{2})$")
_ONE_SECOND_US = 1_000_000

Interval = tuple[int, int]  # minutes after local midnight: start in [0, 1440), end in (start, start + 1440]


class CalendarError(ValueError):
    """Hours or a time zone that cannot make a calendar; `field` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class CalendarSpec:
    """A business calendar as plain values: weekly hours (Monday first), holidays, time zone."""

    time_zone: str
    week: tuple[tuple[Interval, ...], ...] = ((), (), (), (), (), (), ())
    holidays: frozenset[date] = frozenset()
    always_open: bool = False

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise CalendarError("hours", "needs seven days")
        zone(self.time_zone)

    @property
    def has_open_time(self) -> bool:
        return self.always_open or any(self.week)

    @classmethod
    def always(cls, time_zone: str = "UTC") -> CalendarSpec:
        return cls(time_zone=time_zone, always_open=True)

    @classmethod
    def from_calendar(cls, calendar: BusinessCalendar, holidays: Iterable[date]) -> CalendarSpec:
        """The spec of a stored calendar; its holidays are passed in so the caller decides how to read them."""
        return cls.from_hours(calendar.time_zone, calendar.hours, holidays, always_open=calendar.is_always_open)

    @classmethod
    def from_hours(
        cls,
        time_zone: str,
        hours: Mapping[str, Sequence[Sequence[str]]],
        holidays: Iterable[date] = (),
        *,
        always_open: bool = False,
    ) -> CalendarSpec:
        return cls(
            time_zone=time_zone,
            week=parse_week(hours),
            holidays=frozenset(holidays),
            always_open=always_open,
        )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise CalendarError("time_zone", "is not a known time zone (e.g. Europe/London)") from exc


def _minutes(text: object, field: str, *, is_end: bool) -> int:
    match = _HHMM.match(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(field, "times are HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if is_end and hours == 24 and minutes == 0:
        return DAY_MINUTES
    if hours > 23 or minutes > 59:
        raise CalendarError(field, "times run from 00:00 to 23:59 (24:00 may end a day)")
    return hours * 60 + minutes


def parse_week(hours: Mapping[str, Sequence[Sequence[str]]]) -> tuple[tuple[Interval, ...], ...]:
    """The weekly hours of a calendar (`BusinessCalendar.hours`) as minute intervals; CalendarError if bad."""
    if not isinstance(hours, Mapping):
        raise CalendarError("hours", "must map mon…sun to lists of [start, end]")
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise CalendarError("hours", f"unknown day {unknown[0]!r}; days are {', '.join(WEEKDAYS)}")
    week: list[tuple[Interval, ...]] = []
    for day in WEEKDAYS:
        field = f"hours.{day}"
        raw = hours.get(day) or []
        if not isinstance(raw, list | tuple):
            raise CalendarError(field, "must be a list of [start, end]")
        intervals: list[Interval] = []
        for pair in raw:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise CalendarError(field, "each interval is [start, end]")
            start = _minutes(pair[0], field, is_end=False)
            end = _minutes(pair[1], field, is_end=True)
            if end <= start:
                end += DAY_MINUTES  # runs past midnight
            intervals.append((start, end))
        week.append(tuple(sorted(intervals)))
    return tuple(week)


def format_week(week: tuple[tuple[Interval, ...], ...]) -> dict[str, list[list[str]]]:
    """The inverse of parse_week, in the stored shape (overnight ends as their wall-clock time)."""

    def hhmm(minutes: int) -> str:
        if minutes == DAY_MINUTES:
            return "24:00"
        minutes %= DAY_MINUTES
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    return {day: [[hhmm(s), hhmm(e)] for s, e in week[i]] for i, day in enumerate(WEEKDAYS)}


def _utc(naive_local: datetime, tz: ZoneInfo) -> datetime:
    return naive_local.replace(tzinfo=tz).astimezone(UTC)


def _day_intervals(spec: CalendarSpec, tz: ZoneInfo, day: date) -> Iterator[tuple[datetime, datetime]]:
    if day in spec.holidays:
        return
    midnight = datetime.combine(day, time())
    for start, end in spec.week[day.weekday()]:
        begin = _utc(midnight + timedelta(minutes=start), tz)
        finish = _utc(midnight + timedelta(minutes=end), tz)
        if finish > begin:
            yield begin, finish


def open_intervals(spec: CalendarSpec, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open periods (UTC, merged, in order) that end after `since`; endless for an open calendar.

    Intervals start in local-date order, so merging them as they come is enough. The search stops after
    MAX_SEARCH_DAYS without open time (holidays all the way).
    """
    since = since.astimezone(UTC)
    if spec.always_open:
        yield since, datetime.max.replace(tzinfo=UTC)
        return
    if not spec.has_open_time:
        return
    tz = zone(spec.time_zone)
    day = since.astimezone(tz).date() - timedelta(days=1)  # yesterday's overnight interval may still run
    pending: tuple[datetime, datetime] | None = None
    idle_days = 0
    while idle_days <= MAX_SEARCH_DAYS:
        found = False
        for begin, finish in _day_intervals(spec, tz, day):
            found = True
            if pending is not None and begin <= pending[1]:
                pending = (pending[0], max(pending[1], finish))
                continue
            if pending is not None and pending[1] > since:
                yield pending
            pending = (begin, finish)
        idle_days = 0 if found else idle_days + 1
        if day >= date.max - timedelta(days=2):
            break
        day += timedelta(days=1)
    if pending is not None and pending[1] > since:
        yield pending


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def add_business_seconds(spec: CalendarSpec, start: datetime, seconds: int) -> datetime:
    """The instant at which `seconds` business seconds have passed since `start` (UTC).

    Zero seconds is `start` itself, open or not. ValueError when the calendar never opens again.
    """
    start = _as_utc(start, "start")
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    if seconds == 0:
        return start
    if spec.always_open:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    for begin, finish in open_intervals(spec, start):
        begin = max(begin, start)
        if finish - begin >= remaining:
            return begin + remaining
        remaining -= finish - begin
    raise ValueError("the calendar has no open time ahead")


def business_microseconds_between(spec: CalendarSpec, start: datetime, end: datetime) -> int:
    """Exact business time from `start` to `end` in microseconds (0 when end is not after start)."""
    start, end = _as_utc(start, "start"), _as_utc(end, "end")
    if end <= start:
        return 0
    if spec.always_open:
        return _micro(end - start)
    total = 0
    for begin, finish in open_intervals(spec, start):
        if begin >= end:
            break
        total += _micro(min(finish, end) - max(begin, start))
    return total


def business_seconds_between(spec: CalendarSpec, start: datetime, end: datetime) -> int:
    """Whole business seconds from `start` to `end` (floored; 0 when end is not after start)."""
    return business_microseconds_between(spec, start, end) // _ONE_SECOND_US


def _micro(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _ONE_SECOND_US + delta.microseconds
