"""NPS, CSAT and CES with their intervals and response rates, on hand-computed data (feedback.queries.scores).

The expected values below were worked out by hand from the definitions in docs/feedback.md ("Scores").
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cxloop.core.actor import Actor
from cxloop.core.errors import PermissionDeniedError, ValidationError
from cxloop.core.permissions import Perm
from cxloop.feedback.queries import scores as score_queries
from cxloop.feedback.queries.scores import ScoreFilters, mean_stats, nps_stats, t95, wilson_stats
from tests.cases.factories import TeamFactory
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, ResponseFactory, SurveyFactory

JUNE = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def _answers(survey, scores, *, at=JUNE, **fields):  # type: ignore[no-untyped-def]
    customer = CustomerFactory()
    for score in scores:
        invitation = InvitationFactory(survey=survey, customer=customer, sent_at=at, answered_at=at)
        ResponseFactory(invitation=invitation, score=score, submitted_at=at, **fields)


# --- the statistics alone ----------------------------------------------------------------------------------------


def test_nps_is_promoters_minus_detractors_with_the_variance_of_plus_zero_minus_one():
    # 5 promoters, 2 passives, 3 detractors of 10: NPS 20; variance 0.5 + 0.3 − 0.2² = 0.76;
    # half-width 1.96 · √(0.76 / 10) = 54.03 points
    stats = nps_stats(5, 2, 3)

    assert stats.value == pytest.approx(20.0)
    assert stats.low == pytest.approx(-34.0325, abs=1e-4)
    assert stats.high == pytest.approx(74.0325, abs=1e-4)


def test_nps_interval_stays_within_the_scale():
    stats = nps_stats(3, 0, 0)

    assert (stats.value, stats.low, stats.high) == (100.0, 100.0, 100.0)


def test_csat_uses_the_wilson_interval():
    # 5 of 8 satisfied: 62.5 %; Wilson centre 0.5844, half-width 0.2787
    stats = wilson_stats(5, 8)

    assert stats.value == pytest.approx(62.5)
    assert stats.low == pytest.approx(30.5742, abs=1e-4)
    assert stats.high == pytest.approx(86.3156, abs=1e-4)


def test_ces_is_the_mean_with_a_t_interval():
    # 7, 6, 6, 5, 3: mean 5.4, sample variance 9.2 / 4 = 2.3, t(4) = 2.7764
    stats = mean_stats({7: 1, 6: 2, 5: 1, 3: 1, 1: 0})

    assert stats.value == pytest.approx(5.4)
    assert stats.low == pytest.approx(3.5170, abs=1e-4)
    assert stats.high == pytest.approx(7.2830, abs=1e-4)


def test_one_answer_has_a_mean_but_no_interval():
    assert mean_stats({4: 1}) == score_queries.Stats(4.0, None, None)


@pytest.mark.parametrize(
    ("df", "expected"), [(1, 12.7062), (30, 2.0423), (40, 2.0211), (100, 1.9840), (10_000, 1.9602)]
)
def test_t_quantile(df, expected):
    assert t95(df) == pytest.approx(expected, abs=1e-4)


# --- the query ---------------------------------------------------------------------------------------------------


def test_nps_over_stored_answers(charlie):
    # given
    survey = SurveyFactory(key="rel", kind="nps")
    _answers(survey, [10, 10, 9, 8, 7, 6, 3, 0, 9, 10])

    # when
    report = score_queries.scores(charlie.actor, ScoreFilters(kind="nps"))

    # then
    total = report.total
    assert (total.n, total.promoters, total.passives, total.detractors) == (10, 5, 2, 3)
    assert total.counts == {0: 1, 1: 0, 2: 0, 3: 1, 4: 0, 5: 0, 6: 1, 7: 1, 8: 1, 9: 2, 10: 3}
    assert total.stats.value == pytest.approx(20.0)
    assert total.stats.low == pytest.approx(-34.0325, abs=1e-4)
    assert report.groups == []


def test_csat_and_ces_over_stored_answers(charlie):
    csat, ces = SurveyFactory(key="after-case", kind="csat"), SurveyFactory(key="effort", kind="ces")
    _answers(csat, [5, 5, 4, 4, 4, 3, 2, 1])
    _answers(ces, [7, 6, 6, 5, 3])

    csat_total = score_queries.scores(charlie.actor, ScoreFilters(kind="csat")).total
    ces_total = score_queries.scores(charlie.actor, ScoreFilters(kind="ces")).total

    assert (csat_total.n, csat_total.satisfied) == (8, 5)
    assert csat_total.stats.value == pytest.approx(62.5)
    assert csat_total.stats.high == pytest.approx(86.3156, abs=1e-4)
    assert ces_total.n == 5
    assert ces_total.stats.value == pytest.approx(5.4)
    assert ces_total.stats.low == pytest.approx(3.5170, abs=1e-4)


def test_other_kinds_and_unscored_answers_do_not_count(charlie):
    _answers(SurveyFactory(key="rel", kind="nps"), [10, 0])
    _answers(SurveyFactory(key="after-case", kind="csat"), [5])
    _answers(SurveyFactory(key="custom", kind="custom"), [None])  # type: ignore[list-item]

    total = score_queries.scores(charlie.actor, ScoreFilters(kind="nps")).total

    assert (total.n, total.stats.value) == (2, 0.0)


def test_grouped_by_team_in_one_query_each_for_scores_and_rates(charlie, django_assert_num_queries):
    # given
    survey = SurveyFactory(key="rel", kind="nps")
    care, shop = TeamFactory(name="Care"), TeamFactory(name="Shop")
    _answers(survey, [10, 9, 2], team=care)
    _answers(survey, [6, 6], team=shop)
    _answers(survey, [8])

    # when
    with django_assert_num_queries(2):
        report = score_queries.scores(charlie.actor, ScoreFilters(kind="nps", group_by="team"))

    # then
    by_label = {g.label: (g.n, round(g.stats.value or 0, 2)) for g in report.groups}
    assert by_label == {"Care": (3, 33.33), "Shop": (2, -100.0), "No team": (1, 0.0)}
    assert report.total.n == 6
    assert report.total.stats.value == pytest.approx(100 * (2 - 3) / 6)


@pytest.mark.parametrize(
    ("group_by", "field", "values", "expected"),
    [
        ("segment", "segment", ["loyal", "at_risk"], {"at_risk", "loyal"}),
        ("channel", "channel", ["email", "sms"], {"email", "sms"}),
        ("goal", "goal_key", ["care", "grow"], {"care", "grow"}),
    ],
)
def test_grouped_by_a_copied_field(charlie, group_by, field, values, expected):
    survey = SurveyFactory(key="rel", kind="nps")
    for value in values:
        _answers(survey, [10, 0, 9], **{field: value})

    report = score_queries.scores(charlie.actor, ScoreFilters(kind="nps", group_by=group_by))

    assert {g.key for g in report.groups} == expected
    assert all(g.n == 3 and g.stats.value == pytest.approx(100 / 3) for g in report.groups)


def test_grouped_by_survey_with_response_rates_per_survey(charlie):
    # given: "rel" sent 4 answered 2, "web" sent 1 answered 1, one sent before the period
    rel, web = SurveyFactory(key="rel", name="Relationship", kind="nps"), SurveyFactory(key="web", kind="nps")
    _answers(rel, [10, 0])
    InvitationFactory.create_batch(2, survey=rel, sent_at=JUNE)
    _answers(web, [9])
    InvitationFactory(survey=web, sent_at=datetime(2025, 5, 1, tzinfo=UTC))

    # when
    report = score_queries.scores(
        charlie.actor, ScoreFilters(kind="nps", group_by="survey", start=date(2025, 6, 1), end=date(2025, 6, 30))
    )

    # then
    assert [(g.key, g.label, g.n) for g in report.groups] == [("rel", "Relationship", 2), ("web", "Web", 1)]
    assert [(r.key, r.sent, r.answered) for r in report.response_rates] == [("rel", 4, 2), ("web", 1, 1)]
    assert (report.response_rate.sent, report.response_rate.answered) == (5, 3)
    assert report.response_rate.rate == pytest.approx(0.6)


def test_date_range_and_survey_filters(charlie):
    rel, web = SurveyFactory(key="rel", kind="nps"), SurveyFactory(key="web", kind="nps")
    _answers(rel, [10], at=datetime(2025, 5, 31, 21, 0, tzinfo=UTC))
    _answers(rel, [0, 0], at=datetime(2025, 6, 30, 21, 59, tzinfo=UTC))
    _answers(rel, [9], at=datetime(2025, 7, 1, 0, 0, tzinfo=UTC))
    _answers(web, [10], at=JUNE)

    june = ScoreFilters(kind="nps", start=date(2025, 6, 1), end=date(2025, 6, 30), survey="rel")
    report = score_queries.scores(charlie.actor, june)

    assert (report.total.n, report.total.detractors) == (2, 2)
    assert report.response_rate.sent == 2


def test_date_range_is_in_the_business_time_zone(charlie, settings):
    # 2025-05-31 22:30 UTC is already 1 June in Amsterdam (UTC+2 in summer)
    settings.TIME_ZONE = "Europe/Amsterdam"
    _answers(SurveyFactory(key="rel", kind="nps"), [10], at=datetime(2025, 5, 31, 22, 30, tzinfo=UTC))

    june = score_queries.scores(charlie.actor, ScoreFilters(kind="nps", start=date(2025, 6, 1)))
    may = score_queries.scores(charlie.actor, ScoreFilters(kind="nps", end=date(2025, 5, 31)))

    assert (june.total.n, may.total.n) == (1, 0)


def test_grouped_by_day_week_and_month_across_a_dst_change(charlie, settings):
    # given: Amsterdam leaves summer time at 03:00 on Sunday 27 October 2024 (UTC+2 → UTC+1)
    settings.TIME_ZONE = "Europe/Amsterdam"
    survey = SurveyFactory(key="rel", kind="nps")
    _answers(survey, [10], at=datetime(2024, 10, 26, 22, 30, tzinfo=UTC))  # Sun 27 Oct 00:30 CEST
    _answers(survey, [0], at=datetime(2024, 10, 27, 22, 59, tzinfo=UTC))  # Sun 27 Oct 23:59 CET
    _answers(survey, [9], at=datetime(2024, 10, 27, 23, 30, tzinfo=UTC))  # Mon 28 Oct 00:30 CET
    _answers(survey, [7], at=datetime(2024, 10, 31, 23, 30, tzinfo=UTC))  # Fri 1 Nov 00:30 CET

    # when
    def grouped(period: str) -> list[tuple[str, int]]:
        filters = ScoreFilters(kind="nps", group_by="period", period=period)
        return [(g.key, g.n) for g in score_queries.scores(charlie.actor, filters).groups]

    # then
    assert grouped("day") == [("2024-10-27", 2), ("2024-10-28", 1), ("2024-11-01", 1)]
    assert grouped("week") == [("2024-10-21", 2), ("2024-10-28", 2)]
    assert grouped("month") == [("2024-10-01", 3), ("2024-11-01", 1)]


def test_month_labels(charlie):
    _answers(SurveyFactory(key="rel", kind="nps"), [10])

    report = score_queries.scores(charlie.actor, ScoreFilters(kind="nps", group_by="period", period="month"))

    assert [(g.key, g.label) for g in report.groups] == [("2025-06-01", "Jun 2025")]


def test_no_answers(charlie):
    report = score_queries.scores(charlie.actor, ScoreFilters(kind="csat", group_by="period"))

    assert report.groups == []
    assert report.total.n == 0
    assert report.total.stats == score_queries.Stats(None, None, None)
    assert report.response_rate.rate is None


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (ScoreFilters(kind="xyz"), "kind"),
        (ScoreFilters(group_by="colour"), "group_by"),
        (ScoreFilters(period="year"), "period"),
        (ScoreFilters(start=date(2025, 2, 1), end=date(2025, 1, 1)), "to"),
    ],
)
def test_bad_filters_name_the_field(charlie, filters, field):
    with pytest.raises(ValidationError) as raised:
        score_queries.scores(charlie.actor, filters)

    assert list(raised.value.fields) == [field]


def test_refused_without_feedback_view(charlie):
    # No role lacks feedback.view today; an actor holding every other permission stands for one that does.
    actor = Actor(user=charlie.user, permissions=frozenset(p for p in Perm if p != Perm.FEEDBACK_VIEW))

    with pytest.raises(PermissionDeniedError):
        score_queries.scores(actor, ScoreFilters())
