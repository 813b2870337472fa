"""Presentation helpers of the case pages: how far away a due time is, in words staff read at a glance."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template

from cxloop.core import clock

register = template.Library()

_SLA_CLASSES = {
    "breached": "badge-danger",
    "warning": "badge-warn",
    "ok": "badge-ok",
    "met": "badge-ok",
    "paused": "badge-muted",
}
_SLA_LABELS = {
    "breached": "Breached",
    "warning": "Breaching soon",
    "ok": "On track",
    "met": "Met",
    "paused": "Paused",
    "none": "No SLA",
}


def span(delta: timedelta) -> str:
    """A duration as its two largest units: "40m", "2h 5m", "3d 4h"."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m"


@register.filter
def due_words(at: datetime | None, now: datetime | None = None) -> str:
    """ "due in 2h" or "40m overdue" relative to now; empty without a time."""
    if at is None:
        return ""
    delta = at - (now or clock.now())
    if delta.total_seconds() >= 0:
        return f"due in {span(delta)}"
    return f"{span(delta)} overdue"


@register.filter
def sla_words(case: object) -> str:
    """The queue's SLA cell: "due in 2h", "breached 40m ago", "paused", "met" or empty."""
    state = str(getattr(case, "sla_state", "none") or "none")
    due = getattr(case, "sla_next_due_at", None)
    if state in ("none", "met"):
        return ""
    if state == "paused":
        return "clock paused"
    if due is None:
        return ""
    delta = due - clock.now()
    if delta.total_seconds() < 0:
        return f"breached {span(delta)} ago" if state == "breached" else f"{span(delta)} overdue"
    return f"due in {span(delta)}"


@register.filter
def sla_class(state: str) -> str:
    return _SLA_CLASSES.get(state or "", "badge-muted")


@register.filter
def sla_label(state: str) -> str:
    return _SLA_LABELS.get(state or "none", str(state).replace("_", " ").capitalize())


@register.filter
def percent_of(value: float | int | None, total: float | int | None) -> int:
    """`value` as a whole percentage of `total` (0 when there is no total), for CSS bars."""
    if not value or not total:
        return 0
    return max(0, min(100, round(100 * float(value) / float(total))))


@register.filter
def iso_time(value: str | None) -> str:
    """An ISO 8601 time stored in a summary, as "3 May 2025, 14:05" (UTC); the text as is when it is not one."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{moment.day} {moment:%b %Y, %H:%M}"


_LINK_LABELS = {
    "duplicate_of": "Duplicate of",
    "duplicated_by": "Duplicated by",
    "related": "Related to",
    "child_of": "Child of",
    "parent_of": "Parent of",
}


@register.filter
def link_label(kind: str) -> str:
    """How a case link reads from this case ("Duplicate of #12", "Parent of #9")."""
    return _LINK_LABELS.get(kind, kind.replace("_", " ").capitalize())


@register.filter
def is_past(at: datetime | None) -> bool:
    return at is not None and at < clock.now()


@register.filter
def minus(value: int | None, other: int | None) -> int:
    """`value - other` for bar widths (the non-repeat share of contacts)."""
    return int(value or 0) - int(other or 0)


@register.filter
def business_span(seconds: int | None) -> str:
    """Business time as words ("3h 20m"): SLA targets count only the team's working hours."""
    if seconds is None:
        return ""
    hours, minutes = divmod(abs(int(seconds)) // 60, 60)  # in hours, not days: a working day is not 24 hours
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


@register.filter
def capped(count: int, cap: int) -> str:
    """A count that stopped at `cap` reads "1000+"."""
    return f"{cap}+" if count >= cap else str(count)
