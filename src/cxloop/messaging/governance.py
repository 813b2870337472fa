"""Quiet hours and frequency caps: pure functions over settings, so the rules can be tested on their own.

Quiet hours are read on the customer's wall clock (their time zone, else the business's), so "21:00-08:00"
means the same to a customer in Sydney and one in Lisbon, and a DST change moves the UTC moment, not the
local one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_CAP_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([hdw])\s*$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_OFF = {"", "off", "none", "0"}


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # the window wraps midnight


@dataclass(frozen=True)
class FrequencyCap:
    limit: int
    period: timedelta
    text: str


def parse_quiet_hours(raw: str, *, setting: str = "CXLOOP_QUIET_HOURS") -> QuietHours | None:
    """ "21:00-08:00" -> QuietHours; "off" or "" -> None; anything else stops start-up naming `setting`."""
    if raw.strip().lower() in _OFF:
        return None
    match = _WINDOW_RE.match(raw)
    if match is None:
        raise ImproperlyConfigured(f"{setting} must look like 21:00-08:00 or be off, got {raw!r}")
    hours_a, minutes_a, hours_b, minutes_b = (int(part) for part in match.groups())
    try:
        return QuietHours(time(hours_a, minutes_a), time(hours_b, minutes_b))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{setting} holds an impossible time: {raw!r}") from exc


def parse_cap(raw: str, *, setting: str = "CXLOOP_MARKETING_CAP") -> FrequencyCap | None:
    """ "3/7d" -> at most 3 marketing messages in any 7 days; "off" or "" -> no cap."""
    if raw.strip().lower() in _OFF:
        return None
    match = _CAP_RE.match(raw)
    if match is None or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise ImproperlyConfigured(f"{setting} must look like 3/7d (count/period in h, d or w) or be off, got {raw!r}")
    count, amount, unit = int(match.group(1)), int(match.group(2)), match.group(3)
    return FrequencyCap(limit=count, period=_UNITS[unit] * amount, text=f"{count}/{amount}{unit}")


def quiet_hours() -> QuietHours | None:
    return parse_quiet_hours(str(settings.CXLOOP_QUIET_HOURS))


def marketing_cap() -> FrequencyCap | None:
    return parse_cap(str(settings.CXLOOP_MARKETING_CAP))


def customer_zone(time_zone: str) -> ZoneInfo:
    """The customer's zone, else the business's (TIME_ZONE); an unknown name falls back rather than fails."""
    for name in (time_zone, str(settings.TIME_ZONE), "UTC"):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def quiet_until(window: QuietHours | None, moment: datetime, zone: ZoneInfo) -> datetime | None:
    """When the quiet hours around `moment` end (an aware datetime), or None when `moment` is not in them.

    The end is built on the local calendar (date + wall-clock time in `zone`), so across a DST change it is
    still 08:00 local, not 08:00 plus or minus an hour. A wall-clock end that falls in a spring-forward gap
    is read with the offset before the change, which lands just after the gap.
    """
    if window is None:
        return None
    local = moment.astimezone(zone)
    if not window.contains(local.time().replace(tzinfo=None)):
        return None
    end = datetime.combine(local.date(), window.end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), window.end, tzinfo=zone)
    return end.astimezone(ZoneInfo("UTC"))


def backoff(attempt: int) -> timedelta:
    """Wait after failed attempt number `attempt` (1-based): 1, 5, 25, 125 … minutes."""
    return timedelta(minutes=5 ** max(attempt - 1, 0))


def check_settings() -> None:
    """Parse every messaging setting once at start-up, so a typo stops the process with the variable's name."""
    quiet_hours()
    marketing_cap()
    if int(settings.CXLOOP_SEND_MAX_ATTEMPTS) < 1:
        raise ImproperlyConfigured("CXLOOP_SEND_MAX_ATTEMPTS must be at least 1")
    if int(settings.CXLOOP_PREFERENCE_LINK_DAYS) < 1:
        raise ImproperlyConfigured("CXLOOP_PREFERENCE_LINK_DAYS must be at least 1")
