"""Driver analysis: which key phrases, case categories and choice answers go with unhappy customers.

For each candidate driver (a key phrase found in the comment, the category of the case the survey followed,
a choice picked in a custom question) over the answers of one kind in the period: how many answers mention
it, its share among the unhappy answers against its share among the happy ones, and the score of the answers
with it against the score of those without it. The difference is the driver's impact (in NPS or CSAT points,
or CES units); the most negative impact leads. A driver needs `min_mentions` answers with it and as many
without it, so that one angry customer does not top the list.

The answers are read once (score, phrases, case, choices; at most MAX_ANSWERS, the newest) and tallied here:
key phrases and choices live in JSON, which SQLite and PostgreSQL unnest differently, and a few tens of
thousands of rows tally in well under a second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from cxloop.cases.queries import cases as case_queries
from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.core.permissions import Perm
from cxloop.feedback.models import Response, Survey
from cxloop.feedback.queries.scores import SCALES, ScoreFilters, check_filters, day_bounds, mean_stats

MAX_ANSWERS = 50_000
DEFAULT_MIN_MENTIONS = 5
DRIVER_KINDS = ("phrase", "category", "answer")
# (unhappy, happy) score ranges per kind: NPS detractors and promoters; CSAT 1–3 and 4–5; CES 1–3 and 5–7.
_BANDS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "nps": ((0, 6), (9, 10)),
    "csat": ((1, 3), (4, 5)),
    "ces": ((1, 3), (5, 7)),
}


@dataclass(frozen=True)
class DriverFilters:
    kind: str = "nps"
    survey: str = ""
    start: date | None = None
    end: date | None = None
    min_mentions: int = DEFAULT_MIN_MENTIONS


@dataclass(frozen=True)
class Driver:
    source: str  # phrase | category | answer
    key: str
    label: str
    mentions: int
    unhappy: int  # answers with it among the unhappy ones (detractors for NPS)
    happy: int  # … among the happy ones (promoters)
    share_unhappy: float  # unhappy / all unhappy answers (0..1)
    share_happy: float
    score_with: float
    score_without: float

    @property
    def impact(self) -> float:
        return self.score_with - self.score_without


@dataclass(frozen=True)
class DriverReport:
    filters: DriverFilters
    answers: int  # answers analysed
    unhappy: int
    happy: int
    capped: bool  # more answers matched than MAX_ANSWERS; the newest were analysed
    drivers: list[Driver]


class _Tally:
    """Counts per scale value, so any of the three scores can be computed for "with" and, by subtraction,
    for "without"."""

    def __init__(self, low: int, high: int) -> None:
        self.counts = dict.fromkeys(range(low, high + 1), 0)

    def add(self, score: int) -> None:
        self.counts[score] += 1

    def minus(self, other: _Tally) -> dict[int, int]:
        return {value: count - other.counts[value] for value, count in self.counts.items()}


def _score_function(kind: str) -> Callable[[Mapping[int, int]], float | None]:
    def nps(counts: Mapping[int, int]) -> float | None:
        n = sum(counts.values())
        pro = sum(c for v, c in counts.items() if v >= 9)
        det = sum(c for v, c in counts.items() if v <= 6)
        return 100 * (pro - det) / n if n else None

    def csat(counts: Mapping[int, int]) -> float | None:
        n = sum(counts.values())
        return 100 * sum(c for v, c in counts.items() if v >= 4) / n if n else None

    def ces(counts: Mapping[int, int]) -> float | None:
        return mean_stats(counts).value

    return {"nps": nps, "csat": csat, "ces": ces}[kind]


def _choice_labels(survey_ids: Iterable[int]) -> dict[tuple[str, str], str]:
    """(question id, choice value) → "Question: choice label", from the surveys' single and multiple choice
    questions (the first survey that has the pair names it)."""
    labels: dict[tuple[str, str], str] = {}
    for definition in (
        Survey.objects.filter(pk__in=list(survey_ids)).order_by("pk").values_list("definition", flat=True)
    ):
        for question in (definition or {}).get("questions", []) if isinstance(definition, dict) else []:
            if not isinstance(question, dict) or question.get("type") not in ("single", "multiple"):
                continue
            for choice in question.get("choices", []):
                if isinstance(choice, dict) and "value" in choice:
                    key = (str(question.get("id", "")), str(choice["value"]))
                    text = str(question.get("text") or question.get("id", ""))
                    labels.setdefault(key, f"{text} {choice.get('label') or choice['value']}")
    return labels


def _choices_in(answers: Any, labels: Mapping[tuple[str, str], str]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    if not isinstance(answers, dict):
        return found
    for question, value in answers.items():
        for item in value if isinstance(value, list) else [value]:
            pair = (str(question), str(item))
            if pair in labels:
                found.add(pair)
    return found


def _rows(filters: DriverFilters) -> tuple[list[tuple[int, Any, str, Any, int]], bool]:
    low, high = day_bounds(filters.start, filters.end)
    qs = Response.objects.filter(kind=filters.kind, score__isnull=False)
    if low is not None:
        qs = qs.filter(submitted_at__gte=low)
    if high is not None:
        qs = qs.filter(submitted_at__lt=high)
    if filters.survey:
        qs = qs.filter(survey__key=filters.survey)
    rows = list(
        qs.order_by("-submitted_at", "-id").values_list("score", "key_phrases", "case_ref", "answers", "survey_id")[
            : MAX_ANSWERS + 1
        ]
    )
    return [(int(r[0] or 0), *r[1:]) for r in rows[:MAX_ANSWERS]], len(rows) > MAX_ANSWERS  # score is not null


def _keys_of(
    phrases: Any, case_ref: str, answers: Any, categories: Mapping[str, tuple[str, str]], labels: Mapping[Any, str]
) -> dict[tuple[str, str], str]:
    """The drivers one answer carries, each with its display label."""
    keys: dict[tuple[str, str], str] = {}
    for phrase in phrases if isinstance(phrases, list) else []:
        text = str(phrase).strip().lower()
        if text:
            keys[("phrase", text)] = text
    if case_ref in categories:
        key, name = categories[case_ref]
        keys[("category", key)] = name
    for pair in _choices_in(answers, labels):
        keys[("answer", f"{pair[0]}={pair[1]}")] = labels[pair]
    return keys


def _band(counts: Mapping[int, int], low: int, high: int) -> int:
    return sum(count for value, count in counts.items() if low <= value <= high)


def drivers(actor: Actor, filters: DriverFilters) -> DriverReport:
    actor.require(Perm.FEEDBACK_VIEW)
    check_filters(ScoreFilters(kind=filters.kind, start=filters.start, end=filters.end, survey=filters.survey))
    if not 1 <= filters.min_mentions <= 10_000:
        raise ValidationError("Invalid driver filter.", fields={"min_mentions": "must be 1..10000"})
    rows, capped = _rows(filters)
    low, high = SCALES[filters.kind]
    cases = {case_ref for _, _, case_ref, _, _ in rows if case_ref}
    categories = case_queries.categories_of(actor, cases) if cases and actor.can(Perm.CASES_VIEW) else {}
    labels = _choice_labels({survey_id for *_, survey_id in rows})
    everyone = _Tally(low, high)
    tallies: dict[tuple[str, str], _Tally] = defaultdict(lambda: _Tally(low, high))
    names: dict[tuple[str, str], str] = {}
    for value, phrases, case_ref, answers, _ in rows:
        everyone.add(value)
        for found_key, label in _keys_of(phrases, case_ref, answers, categories, labels).items():
            tallies[found_key].add(value)
            names.setdefault(found_key, label)
    (bad_low, bad_high), (good_low, good_high) = _BANDS[filters.kind]
    unhappy_all, happy_all = _band(everyone.counts, bad_low, bad_high), _band(everyone.counts, good_low, good_high)
    score = _score_function(filters.kind)
    found: list[Driver] = []
    for (source, key), tally in tallies.items():
        without = everyone.minus(tally)
        mentions = sum(tally.counts.values())
        if mentions < filters.min_mentions or sum(without.values()) < filters.min_mentions:
            continue
        unhappy, happy = _band(tally.counts, bad_low, bad_high), _band(tally.counts, good_low, good_high)
        found.append(
            Driver(
                source=source,
                key=key,
                label=names[(source, key)],
                mentions=mentions,
                unhappy=unhappy,
                happy=happy,
                share_unhappy=unhappy / unhappy_all if unhappy_all else 0.0,
                share_happy=happy / happy_all if happy_all else 0.0,
                score_with=score(tally.counts) or 0.0,
                score_without=score(without) or 0.0,
            )
        )
    # Higher is better on all three scales (CES 7 = very easy), so the most negative impact is the worst driver.
    found.sort(key=lambda d: (d.impact, -d.mentions, d.source, d.key))
    return DriverReport(filters, len(rows), unhappy_all, happy_all, capped, found)
