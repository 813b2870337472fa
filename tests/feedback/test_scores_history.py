"""Imported survey history (feedback.services.history) counts in the scores like live answers, is scored by
text analytics, audited once, and opens no follow-up loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.feedback.models import Invitation, Loop, Response
from cxloop.feedback.queries import scores as score_queries
from cxloop.feedback.services import history
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import SurveyFactory

SENT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _items(survey, customer, scores):  # type: ignore[no-untyped-def]
    return [
        history.PastInvitation(
            survey=survey,
            customer_id=customer.pk,
            sent_at=SENT,
            answer=None
            if score is None
            else history.PastAnswer(
                score=score, submitted_at=SENT + timedelta(hours=1), comment="Awful, the card never came!" * (score < 7)
            ),
        )
        for score in scores
    ]


def test_imported_answers_count_and_are_analysed(bob, charlie):
    # given
    survey, customer = SurveyFactory(key="old-nps", kind="nps"), CustomerFactory()

    # when
    written = history.import_history(bob.actor, _items(survey, customer, [10, 2, None]), source="old tool")

    # then
    assert written == (3, 2)
    report = score_queries.scores(charlie.actor, score_queries.ScoreFilters(kind="nps"))
    assert (report.total.n, report.total.stats.value) == (2, 0.0)
    assert (report.response_rate.sent, report.response_rate.answered) == (3, 2)
    assert sorted(Invitation.objects.values_list("status", flat=True)) == ["answered", "answered", "expired"]
    unhappy = Response.objects.get(score=2)
    assert unhappy.sentiment_label == "negative"
    assert unhappy.sentiment is not None
    assert Response.objects.get(score=10).sentiment_label == ""
    assert Loop.objects.count() == 0
    entry = AuditEntry.objects.get(action="feedback.history_imported")
    assert entry.summary == "imported 3 invitations and 2 answers from old tool"


def test_out_of_range_score_is_refused_and_nothing_written(bob):
    survey, customer = SurveyFactory(key="old-csat", kind="csat"), CustomerFactory()

    with pytest.raises(ValidationError) as raised:
        history.import_history(bob.actor, _items(survey, customer, [5, 6]), source="old tool")

    assert raised.value.fields == {"items[1].score": "1..5"}
    assert Invitation.objects.count() == 0


def test_an_agent_may_not_import(alice):
    survey, customer = SurveyFactory(key="old-nps", kind="nps"), CustomerFactory()

    with pytest.raises(PermissionDeniedError):
        history.import_history(alice.actor, _items(survey, customer, [9]), source="old tool")

    assert Invitation.objects.count() == 0
