"""/api/v1/feedback/scores, /feedback/verbatims and /feedback/drivers: the shapes, the filters, 422 on bad
input, and the query budget. Who may call them is in tests/api/test_access.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, ResponseFactory, SurveyFactory

JUNE = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def _answer(survey, score, comment="", *, at=JUNE, **fields):  # type: ignore[no-untyped-def]
    invitation = InvitationFactory(survey=survey, customer=CustomerFactory(name="Ann"), sent_at=at, answered_at=at)
    return ResponseFactory(invitation=invitation, score=score, comment=comment, submitted_at=at, **fields)


@pytest.fixture
def rel(db):  # type: ignore[no-untyped-def]
    survey = SurveyFactory(key="rel", name="Relationship", kind="nps")
    for score in (10, 10, 9, 8, 7, 6, 3, 0, 9, 10):
        _answer(survey, score, "slow card" if score <= 6 else "", key_phrases=["slow card"] if score <= 6 else [])
    return survey


def test_scores_total_and_groups(api, charlie, rel, django_assert_max_num_queries):
    # when
    with django_assert_max_num_queries(6):  # token auth (2–3) + the scores aggregate + the response rates
        response = api.get(
            "/feedback/scores?kind=nps&group_by=period&period=month&from=2025-06-01&to=2025-06-30", charlie
        )

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["kind"], body["group_by"], body["period"]) == ("nps", "period", "month")
    total = body["total"]
    assert (total["n"], total["promoters"], total["passives"], total["detractors"]) == (10, 5, 2, 3)
    assert total["score"] == pytest.approx(20.0)
    assert total["ci_low"] == pytest.approx(-34.0325, abs=1e-4)
    assert total["ci_high"] == pytest.approx(74.0325, abs=1e-4)
    assert total["distribution"] == {"0": 1, "1": 0, "2": 0, "3": 1, "4": 0, "5": 0, "6": 1, "7": 1, "8": 1, "9": 2,
                                     "10": 3}  # fmt: skip
    assert total["satisfied"] is None
    assert [(g["key"], g["label"], g["n"]) for g in body["groups"]] == [("2025-06-01", "Jun 2025", 10)]
    assert body["response_rate"] == {"survey": "", "label": "All surveys", "sent": 10, "answered": 10, "rate": 1.0}
    assert body["response_rates"][0]["survey"] == "rel"


def test_scores_of_an_empty_period(api, charlie, rel):
    body = api.get("/feedback/scores?kind=csat&from=2020-01-01&to=2020-01-31", charlie).json()

    assert body["total"]["n"] == 0
    assert body["total"]["score"] is None
    assert body["total"]["satisfied"] == 0
    assert body["response_rate"]["rate"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=stars", "kind"),
        ("group_by=colour", "group_by"),
        ("period=year", "period"),
        ("from=2025-02-01&to=2025-01-01", "to"),
    ],
)
def test_bad_score_filters_are_422_naming_the_field(api, charlie, query, field):
    response = api.get(f"/feedback/scores?{query}", charlie)

    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


def test_a_malformed_date_is_422(api, charlie):
    response = api.get("/feedback/scores?from=June", charlie)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_verbatims_page(api, alice, rel):
    # when
    first = api.get("/feedback/verbatims?band=detractor&limit=2", alice).json()
    second = api.get(f"/feedback/verbatims?band=detractor&limit=2&cursor={first['next_cursor']}", alice).json()

    # then
    assert [v["score"] for v in first["items"]] + [v["score"] for v in second["items"]] == [0, 3, 6]
    item = first["items"][0]
    assert (item["survey"], item["kind"], item["band"], item["comment"]) == ("rel", "nps", "detractor", "slow card")
    assert item["customer_name"] == "Ann"
    assert item["customer"].startswith("cus_")
    assert item["key_phrases"] == ["slow card"]
    assert second["next_cursor"] is None


def test_verbatims_bad_band_and_cursor(api, alice):
    assert api.get("/feedback/verbatims?band=angry", alice).json()["error"]["fields"] == {
        "band": "must be one of detractor, passive, promoter, low, high"
    }
    assert api.get("/feedback/verbatims?cursor=%%%", alice).status_code == 422


def test_drivers(api, charlie, rel):
    body = api.get("/feedback/drivers?kind=nps&min_mentions=3", charlie).json()

    assert (body["kind"], body["answers"], body["unhappy"], body["happy"], body["capped"]) == ("nps", 10, 3, 5, False)
    (driver,) = body["drivers"]
    assert (driver["source"], driver["key"], driver["mentions"], driver["unhappy"]) == ("phrase", "slow card", 3, 3)
    assert driver["score_with"] == pytest.approx(-100.0)
    assert driver["score_without"] == pytest.approx(100 * 5 / 7)
    assert driver["impact"] == pytest.approx(-100.0 - 100 * 5 / 7)


def test_drivers_minimum_out_of_range_is_422(api, charlie):
    response = api.get("/feedback/drivers?min_mentions=0", charlie)

    assert response.status_code == 422
