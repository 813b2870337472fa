"""Driver analysis: key phrases, case categories and choice answers that go with detractors, by impact on NPS
(feedback.queries.drivers), on hand-computed data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.feedback.queries import drivers as driver_queries
from cxloop.feedback.queries.drivers import DriverFilters
from tests.cases.factories import CaseFactory, CategoryFactory
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, ResponseFactory, SurveyFactory

AT = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
REASON = {
    "questions": [
        {"id": "score", "type": "nps", "text": "Recommend?"},
        {
            "id": "reason",
            "type": "single",
            "text": "Main reason:",
            "choices": [{"value": "fees", "label": "Fees"}, {"value": "app", "label": "The app"}],
        },
    ]
}


def _answer(survey, score, **fields):  # type: ignore[no-untyped-def]
    invitation = InvitationFactory(survey=survey, customer=CustomerFactory(), sent_at=AT)
    return ResponseFactory(invitation=invitation, score=score, submitted_at=AT, **fields)


@pytest.fixture
def twenty(db):  # type: ignore[no-untyped-def]
    """20 NPS answers: 6 say "card declined" (0, 2, 3, 5, 6, 9), 6 say "friendly staff" (all 10), 2 say "weird"
    (0 and 8), and the other 6 say nothing (10, 10, 10, 8, 8, 8)."""
    survey = SurveyFactory(key="rel", kind="nps", definition=REASON)
    for score in (0, 2, 3, 5, 6, 9):
        _answer(survey, score, key_phrases=["card declined"])
    for _ in range(6):
        _answer(survey, 10, key_phrases=["Friendly staff"])
    _answer(survey, 0, key_phrases=["weird"])
    _answer(survey, 8, key_phrases=["weird"])
    for score in (10, 10, 10, 8, 8, 8):
        _answer(survey, score)
    return survey


def test_phrases_ranked_by_impact_with_shares(charlie, twenty):
    # when
    report = driver_queries.drivers(charlie.actor, DriverFilters(kind="nps"))

    # then: 20 answers, detractors 0,2,3,5,6,0 = 6, promoters 9 + six 10s + three 10s = 10
    assert (report.answers, report.unhappy, report.happy, report.capped) == (20, 6, 10, False)
    assert [(d.source, d.key) for d in report.drivers] == [("phrase", "card declined"), ("phrase", "friendly staff")]
    declined, friendly = report.drivers
    # with: 1 promoter, 5 detractors of 6 → −66.67; without: 9 promoters, 1 detractor of 14 → 57.14
    assert (declined.mentions, declined.unhappy, declined.happy) == (6, 5, 1)
    assert declined.share_unhappy == pytest.approx(5 / 6)
    assert declined.share_happy == pytest.approx(1 / 10)
    assert declined.score_with == pytest.approx(-400 / 6)
    assert declined.score_without == pytest.approx(800 / 14)
    assert declined.impact == pytest.approx(-400 / 6 - 800 / 14)
    # with: 6 promoters of 6 → 100; without: 4 promoters, 6 detractors of 14 → −14.29
    assert friendly.score_with == pytest.approx(100.0)
    assert friendly.score_without == pytest.approx(-200 / 14)


def test_a_driver_needs_the_minimum_with_and_without_it(charlie, twenty):
    few = driver_queries.drivers(charlie.actor, DriverFilters(kind="nps", min_mentions=2))
    many = driver_queries.drivers(charlie.actor, DriverFilters(kind="nps", min_mentions=7))

    assert ("phrase", "weird") in [(d.source, d.key) for d in few.drivers]
    assert many.drivers == []


def test_case_categories_and_choice_answers_are_drivers(charlie):
    # given: answers after "Card problem" cases are detractors; those choosing "Fees" too
    survey = SurveyFactory(key="rel", kind="nps", definition=REASON)
    card = CategoryFactory(key="card-problem", name="Card problem")
    for score in (1, 2, 3):
        _answer(survey, score, case_ref=CaseFactory(category=card).public_id, answers={"reason": "fees"})
    for score in (9, 10, 10):
        _answer(survey, score, case_ref=CaseFactory().public_id, answers={"reason": "app"})

    # when
    report = driver_queries.drivers(charlie.actor, DriverFilters(kind="nps", min_mentions=3))

    # then
    rows = {(d.source, d.key): (d.label, d.mentions, d.score_with, d.score_without) for d in report.drivers}
    assert rows == {
        ("category", "card-problem"): ("Card problem", 3, -100.0, 100.0),
        ("answer", "reason=fees"): ("Main reason: Fees", 3, -100.0, 100.0),
        ("answer", "reason=app"): ("Main reason: The app", 3, 100.0, -100.0),
    }
    assert [d.key for d in report.drivers][-1] == "reason=app"


def test_csat_drivers_use_low_and_high_scores(charlie):
    survey = SurveyFactory(key="after-case", kind="csat")
    for score in (1, 2, 5):
        _answer(survey, score, key_phrases=["waited long"])
    for score in (5, 4, 4):
        _answer(survey, score)

    report = driver_queries.drivers(charlie.actor, DriverFilters(kind="csat", min_mentions=3))

    (waited,) = report.drivers
    assert (waited.unhappy, waited.happy) == (2, 1)
    assert waited.score_with == pytest.approx(100 / 3)
    assert waited.impact == pytest.approx(100 / 3 - 100)


def test_no_answers_no_drivers(charlie):
    report = driver_queries.drivers(charlie.actor, DriverFilters(kind="ces"))

    assert (report.answers, report.drivers) == (0, [])


def test_bad_filters(charlie):
    with pytest.raises(ValidationError) as raised:
        driver_queries.drivers(charlie.actor, DriverFilters(kind="nps", min_mentions=0))

    assert raised.value.fields == {"min_mentions": "must be 1..10000"}


def test_refused_without_feedback_view(charlie):
    actor = Actor(user=charlie.user, permissions=frozenset(p for p in Perm if p != Perm.FEEDBACK_VIEW))

    with pytest.raises(PermissionDeniedError):
        driver_queries.drivers(actor, DriverFilters())
