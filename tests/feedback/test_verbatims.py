"""Verbatims: answers with their comment, newest first, filtered and cursor-paginated
(feedback.queries.verbatims)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.feedback.queries import verbatims as verbatim_queries
from cxloop.feedback.queries.verbatims import VerbatimFilters, band_of
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, ResponseFactory, SurveyFactory

AT = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def _answer(survey, score, comment, *, at=AT, **fields):  # type: ignore[no-untyped-def]
    invitation = InvitationFactory(survey=survey, customer=CustomerFactory(), sent_at=at)
    return ResponseFactory(invitation=invitation, score=score, comment=comment, submitted_at=at, **fields)


@pytest.fixture
def answers(db):  # type: ignore[no-untyped-def]
    nps, csat = SurveyFactory(key="rel", kind="nps"), SurveyFactory(key="after-case", kind="csat")
    return {
        "angry": _answer(nps, 2, "The card was declined twice, furious", sentiment_label="negative", emotion="anger"),
        "meh": _answer(nps, 7, "It was fine", at=AT + timedelta(hours=1), sentiment_label="neutral"),
        "happy": _answer(
            nps, 10, "Lovely staff", at=AT + timedelta(hours=2), sentiment_label="positive", emotion="joy"
        ),
        "silent": _answer(nps, 9, "", at=AT + timedelta(hours=3)),
        "slow": _answer(csat, 2, "Slow answer about my card", at=AT - timedelta(days=40), sentiment_label="negative"),
        "good": _answer(csat, 5, "Quick and kind", at=AT + timedelta(hours=4), sentiment_label="positive"),
    }


def _ids(actor: Actor, **filters: object) -> list[str]:
    page = verbatim_queries.list_verbatims(actor, VerbatimFilters(**filters))  # type: ignore[arg-type]
    return [r.comment for r in page.items]


def test_answers_with_a_comment_newest_first(charlie, answers):
    assert _ids(charlie.actor) == [
        "Quick and kind",
        "Lovely staff",
        "It was fine",
        "The card was declined twice, furious",
        "Slow answer about my card",
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"band": "detractor"}, ["The card was declined twice, furious"]),
        ({"band": "passive"}, ["It was fine"]),
        ({"band": "promoter"}, ["Lovely staff"]),
        ({"band": "low"}, ["Slow answer about my card"]),
        ({"band": "high"}, ["Quick and kind"]),
        ({"sentiment": "negative"}, ["The card was declined twice, furious", "Slow answer about my card"]),
        ({"emotion": "joy"}, ["Lovely staff"]),
        ({"text": "CARD"}, ["The card was declined twice, furious", "Slow answer about my card"]),
        ({"survey": "after-case"}, ["Quick and kind", "Slow answer about my card"]),
        ({"kind": "nps", "sentiment": "positive"}, ["Lovely staff"]),
        (
            {"start": date(2025, 6, 1), "end": date(2025, 6, 30), "text": "card"},
            ["The card was declined twice, furious"],
        ),  # noqa: E501
        ({"end": date(2025, 5, 31)}, ["Slow answer about my card"]),
    ],
)
def test_filters(charlie, answers, filters, expected):
    assert _ids(charlie.actor, **filters) == expected


def test_cursor_pagination_is_stable_while_answers_arrive(charlie):
    # given: 30 comments, one minute apart
    survey = SurveyFactory(key="rel", kind="nps")
    for minute in range(30):
        _answer(survey, minute % 11, f"comment {minute:02d}", at=AT + timedelta(minutes=minute))

    # when: page one, then a new answer arrives, then page two
    first = verbatim_queries.list_verbatims(charlie.actor, VerbatimFilters(), limit=25)
    _answer(survey, 10, "arrived later", at=AT + timedelta(hours=5))
    second = verbatim_queries.list_verbatims(charlie.actor, VerbatimFilters(), cursor=first.next_cursor, limit=25)

    # then
    assert [r.comment for r in first.items] == [f"comment {m:02d}" for m in range(29, 4, -1)]
    assert [r.comment for r in second.items] == [f"comment {m:02d}" for m in range(4, -1, -1)]
    assert second.next_cursor is None


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (VerbatimFilters(band="angry"), "band"),
        (VerbatimFilters(sentiment="furious"), "sentiment"),
        (VerbatimFilters(emotion="boredom"), "emotion"),
        (VerbatimFilters(text="x" * 201), "q"),
        (VerbatimFilters(kind="stars"), "kind"),
    ],
)
def test_bad_filters_name_the_field(charlie, filters, field):
    with pytest.raises(ValidationError) as raised:
        verbatim_queries.list_verbatims(charlie.actor, filters)

    assert list(raised.value.fields) == [field]


def test_forged_cursor_is_a_validation_error(charlie):
    with pytest.raises(ValidationError):
        verbatim_queries.list_verbatims(charlie.actor, VerbatimFilters(), cursor="bm90LWEtY3Vyc29y")


@pytest.mark.parametrize(
    ("kind", "score", "band"),
    [("nps", 6, "detractor"), ("nps", 7, "passive"), ("nps", 9, "promoter"), ("csat", 3, "low"), ("csat", 4, "high"),
     ("ces", 3, "low"), ("ces", 4, ""), ("ces", 5, "high"), ("custom", 5, ""), ("nps", None, "")],
)  # fmt: skip
def test_band_of(kind, score, band):
    assert band_of(kind, score) == band


def test_refused_without_feedback_view(charlie):
    actor = Actor(user=charlie.user, permissions=frozenset(p for p in Perm if p != Perm.FEEDBACK_VIEW))

    with pytest.raises(PermissionDeniedError):
        verbatim_queries.list_verbatims(actor, VerbatimFilters())
