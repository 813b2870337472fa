"""Reads of repeat contacts (CASES_VIEW): the repeat-contact rate per category or team, and a case's repeat contacts.

The rate counts contacts, not cases. A customer coming back about a matter either opens a new case flagged as a
repeat (counted among the period's cases) or joins the earlier case when it was still active or resolved (a
RepeatContact whose case and previous case are the same: a contact that opened no case). So:

    contacts = cases opened + contacts folded into an existing case
    rate     = repeat contacts / contacts

A row groups by the category or team of the case the contact landed on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q

from cxloop.cases.models import Case, RepeatContact
from cxloop.core import clock
from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm

RATE_BY = ("category", "team")
_KEYS = {"category": ("category__key", "category__name"), "team": ("team_id", "team__name")}
_NONE = {"category": "No category", "team": "No team"}


@dataclass(frozen=True)
class RepeatRate:
    key: str  # the category key or team id; "" for cases without one
    label: str
    cases: int  # cases opened in the period
    repeat_contacts: int  # contacts in the period about a matter a recent case handled
    folded: int  # of those, the ones that joined an existing case instead of opening one

    @property
    def contacts(self) -> int:
        return self.cases + self.folded

    @property
    def rate(self) -> float:
        return self.repeat_contacts / self.contacts if self.contacts else 0.0


def repeat_contact_rate(
    actor: Actor, *, by: str = "category", since: datetime | None = None, until: datetime | None = None
) -> list[RepeatRate]:
    """Cases opened and repeat contacts detected in [since, until) per category or team (two grouped queries),
    highest rate first."""
    actor.require(Perm.CASES_VIEW)
    if by not in RATE_BY:
        raise ValidationError("Unknown grouping.", fields={"by": f"one of {', '.join(RATE_BY)}"})
    since, until = clock.storable_utc(since, "since"), clock.storable_utc(until, "until")  # PostgreSQL: ±15:59 only
    if since is not None and until is not None and since >= until:
        raise ValidationError("The period is empty.", fields={"until": "must be after since"})
    cases = Case.objects.filter(merged_into__isnull=True)
    repeats = RepeatContact.objects.all()
    if since is not None:
        cases, repeats = cases.filter(opened_at__gte=since), repeats.filter(detected_at__gte=since)
    if until is not None:
        cases, repeats = cases.filter(opened_at__lt=until), repeats.filter(detected_at__lt=until)
    key_field, label_field = _KEYS[by]
    tallies: dict[str, _Tally] = {}
    for row in cases.values(key_field, label_field).annotate(n=Count("id")).order_by():
        tallies[_key(row[key_field])] = _Tally(row[label_field] or _NONE[by], cases=row["n"])
    repeat_rows = (
        repeats.values(f"case__{key_field}", f"case__{label_field}")
        .annotate(n=Count("id"), folded=Count("id", filter=Q(previous_case_id=F("case_id"))))
        .order_by()
    )
    for row in repeat_rows:
        key = _key(row[f"case__{key_field}"])
        tally = tallies.setdefault(key, _Tally(row[f"case__{label_field}"] or _NONE[by]))
        tally.repeats, tally.folded = row["n"], row["folded"]
    result = [RepeatRate(key, t.label, t.cases, t.repeats, t.folded) for key, t in tallies.items()]
    return sorted(result, key=lambda r: (-r.rate, -r.repeat_contacts, r.label))


@dataclass
class _Tally:
    label: str
    cases: int = 0
    repeats: int = 0
    folded: int = 0


def _key(value: object) -> str:
    return "" if value is None else str(value)


def case_repeat_contacts(actor: Actor, case: Case, *, limit: int = 20) -> list[RepeatContact]:
    """The newest repeat contacts touching the case: it repeating an earlier case, customers coming back about it
    (new conversations folded into it, later cases opened as repeats of it)."""
    actor.require(Perm.CASES_VIEW)
    return list(
        RepeatContact.objects.filter(Q(case=case) | Q(previous_case=case))
        .select_related("case", "previous_case")
        .order_by("-detected_at", "-id")[: max(1, min(limit, 100))]
    )
