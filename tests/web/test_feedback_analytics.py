"""The feedback analytics pages: the scores dashboard with its SVG charts, the verbatims and the drivers.
Everyone whose role has feedback.view sees them; a role without it is refused, and nobody logged out."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.core.permissions import ROLE_PERMISSIONS, Perm, Role
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.django_db


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", response.content.decode())


def _answer(survey, score, comment="", *, days_ago=1, **fields):  # type: ignore[no-untyped-def]
    at = clock.now() - timedelta(days=days_ago)
    invitation = InvitationFactory(survey=survey, customer=CustomerFactory(name="Ann Lee"), sent_at=at, answered_at=at)
    return ResponseFactory(invitation=invitation, score=score, comment=comment, submitted_at=at, **fields)


@pytest.fixture
def scored(db):  # type: ignore[no-untyped-def]
    nps = SurveyFactory(key="rel", name="Relationship NPS", kind="nps")
    csat = SurveyFactory(key="after-case", name="After your case", kind="csat")
    ces = SurveyFactory(key="effort", name="Effort", kind="ces")
    for score in (10, 10, 9, 8, 7, 6, 3, 0, 9, 10):  # NPS 20
        _answer(nps, score, "Card declined at the till" if score <= 6 else "", segment="loyal", key_phrases=["card"])
    for score in (5, 5, 4, 2):  # CSAT 75 %
        _answer(csat, score, days_ago=20)
    for score in (7, 5, 6):  # CES 6.0
        _answer(ces, score, days_ago=40)
    return nps


@pytest.fixture
def without_feedback_view(monkeypatch):  # type: ignore[no-untyped-def]
    """The analyst role minus feedback.view (no shipped role lacks it)."""
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.ANALYST, ROLE_PERMISSIONS[Role.ANALYST] - {Perm.FEEDBACK_VIEW})


def test_dashboard_draws_trend_distribution_and_breakdown_charts(web, alice, scored):
    # when
    response = web(alice).get("/feedback/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('role="img"') == 5
    for chart in ("trend-nps", "trend-csat", "trend-ces", "nps-distribution", "breakdown"):
        assert f'id="{chart}"' in html
        assert f'aria-labelledby="{chart}-title"' in html
    assert '<title id="trend-nps-title">NPS by week</title>' in html
    assert 'class="chart-band"' not in html  # one week of NPS answers: one point, no band to draw
    page = text_of(response)
    assert "NPS 20 over the whole period" in page
    assert "10 answers: 3 detractors (0 to 6), 2 passives (7 and 8), 5 promoters (9 and 10)." in page
    assert "Detractors 0–6" in page
    assert "Promoters 9–10" in page
    # the screen-reader tables carry the numbers
    assert re.search(r'<th scope="row">10</th><td>3</td><td>Promoters</td>', html)
    assert re.search(r'<th scope="row">Loyal|<th scope="row">loyal', html)


def test_dashboard_cards_show_scores_intervals_and_response_rates(web, charlie, scored):
    InvitationFactory.create_batch(10, survey=scored, sent_at=clock.now() - timedelta(days=2))

    page = text_of(web(charlie).get("/feedback/"))

    assert re.search(r'data-kind="nps"> <span class="stat-value">20 <small>\(-34 to 74\)</small>', page)
    assert "10 answers · response rate 50% of 20 sent" in page
    assert re.search(r'data-kind="csat"> <span class="stat-value">75%', page)
    assert re.search(r'data-kind="ces"> <span class="stat-value">6.0', page)


def test_filters_live_in_the_url(web, alice, scored):
    # when
    response = web(alice).get("/feedback/?period=month&survey=rel&by=survey&kind=nps")

    # then
    html = response.content.decode()
    assert '<title id="trend-nps-title">NPS by month</title>' in html
    assert '<option value="rel" selected>' in html
    assert '<option value="survey" selected>Survey</option>' in html
    assert "No CSAT answers" not in html
    assert re.search(r'<th scope="row">Relationship NPS</th>', html)


def test_dashboard_with_no_answers(web, alice):
    response = web(alice).get("/feedback/")

    assert response.status_code == 200
    assert text_of(response).count("No answers") == 3
    assert "No NPS answers in this period." in text_of(response)


@pytest.mark.parametrize(
    ("query", "field"), [("period=year", "period"), ("from=yesterday", "from"), ("by=colour", "by"), ("kind=x", "kind")]
)
def test_bad_filters_are_an_error_page_not_a_crash(web, alice, query, field):
    response = web(alice).get(f"/feedback/?{query}")

    assert response.status_code == 422


def test_verbatims_filter_and_link_the_customer(web, alice, scored):
    # when
    response = web(alice).get("/feedback/verbatims/?band=detractor&q=declined")

    # then
    page = text_of(response)
    assert page.count("data-verbatim=") == 3
    assert "Card declined at the till" in page
    assert 'href="/customers/' in page
    assert "Ann Lee" in page
    assert '<option value="detractor" selected>' in page


def test_verbatims_paginate_with_a_cursor(web, alice):
    survey = SurveyFactory(key="rel", kind="nps")
    for day in range(30):
        _answer(survey, 5, f"comment number {day:02d}", days_ago=day + 1)

    first = text_of(web(alice).get("/feedback/verbatims/?band=detractor"))
    next_link = re.search(r'href="\?([^"]+)" rel="next"', first)
    assert next_link is not None
    second = text_of(web(alice).get("/feedback/verbatims/?" + next_link.group(1).replace("&amp;", "&")))

    assert first.count("data-verbatim=") == 25
    assert "comment number 24" in first
    assert "comment number 25" not in first
    assert second.count("data-verbatim=") == 5
    assert "comment number 25" in second
    assert "band=detractor" in next_link.group(1)
    assert 'rel="next"' not in second


def test_drivers_page_ranks_phrases(web, alice):
    survey = SurveyFactory(key="rel", kind="nps")
    for score in (0, 1, 2, 3, 4):
        _answer(survey, score, "x", key_phrases=["hidden fees"])
    for score in (10, 10, 9, 9, 10):
        _answer(survey, score, "y", key_phrases=["quick answer"])

    page = text_of(web(alice).get("/feedback/drivers/"))

    hurting, helping = page.split("Going with happy customers")
    assert "hidden fees" in hurting
    assert "quick answer" not in hurting
    assert "quick answer" in helping
    assert "-200.0 points" in hurting


def test_logged_out_visitors_go_to_the_login_page(client):
    for url in ("/feedback/", "/feedback/verbatims/", "/feedback/drivers/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_refused_to_a_role_without_feedback_view(web, charlie, scored, without_feedback_view):
    for url in ("/feedback/", "/feedback/verbatims/", "/feedback/drivers/"):
        response = web(charlie).get(url)
        assert response.status_code == 403
        assert "Card declined" not in response.content.decode()


def test_chart_text_is_escaped_and_bands_stay_on_the_scale():
    from cxloop.web import charts

    svg = charts.line_chart(
        [charts.Point("<b>May</b>", 6.5, 5.0, 8.4), charts.Point("Jun & Jul", 6.9, 6.1, 7.7)],
        chart_id="t",
        title='CES "trend"',
        description="<script>alert(1)</script>",
        bounds=(1.0, 7.0),
        value_format="{:.1f}",
    )

    assert "<b>" not in svg
    assert "<script>" not in svg
    assert "&lt;b&gt;May&lt;/b&gt;" in svg
    assert "Jun &amp; Jul" in svg
    assert "8.4" in svg  # the table tells the interval as computed
    assert re.search(r'<polygon points="[^"]*" fill="#1f5fa8"', svg)
    assert all(
        float(y) >= charts.TOP for y in re.findall(r"[\d.]+,([\d.]+)", svg.split("<polygon points=")[1].split('"')[1])
    )
