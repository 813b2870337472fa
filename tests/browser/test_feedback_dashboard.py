"""The feedback dashboard in a real Chromium: the charts are drawn (SVG with a name and a description), they
carry their numbers for screen readers, the filters travel in the URL, and the page is clean under axe-core;
then the verbatims and drivers pages too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import axe_playwright_python
import pytest

from cxloop.core import clock
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, ResponseFactory, SurveyFactory

pytestmark = pytest.mark.browser

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every axe-core violation on the page, whatever its impact (the script is inlined, not fetched)."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in result["violations"]
    ]


def _answers(db) -> None:  # type: ignore[no-untyped-def]
    """Eight weeks of NPS, CSAT and CES answers, some with comments."""
    nps = SurveyFactory(key="rel", name="Relationship NPS", kind="nps")
    csat = SurveyFactory(key="after-case", name="After your case", kind="csat")
    ces = SurveyFactory(key="effort", name="Effort", kind="ces")
    customer = CustomerFactory(name="Ann Lee")
    now = clock.now()
    for week in range(8):
        at = now - timedelta(weeks=week, hours=2)
        for index, score in enumerate((10, 9, 9, 8, 7, 6, 2, 10 - week % 3)):
            comment = "The card was declined again, very annoying" if score <= 6 else ""
            invitation = InvitationFactory(survey=nps, customer=customer, sent_at=at, answered_at=at)
            ResponseFactory(
                invitation=invitation,
                score=score,
                comment=comment,
                submitted_at=at - timedelta(minutes=index),
                segment="loyal" if index % 2 else "customer",
                sentiment_label="negative" if comment else "",
                key_phrases=["card declined"] if comment else [],
            )
        for score in (5, 4, 2):
            ResponseFactory(invitation=InvitationFactory(survey=csat, customer=customer), score=score, submitted_at=at)
        for score in (6, 7, 3):
            ResponseFactory(invitation=InvitationFactory(survey=ces, customer=customer), score=score, submitted_at=at)


def test_dashboard_shows_the_charts_and_passes_axe(page, login_as, alice, live_server):
    # given
    _answers(None)
    login_as(alice)

    # when
    page.goto("/feedback/")

    # then: five charts, each an image with a name, and the NPS line with its confidence band
    charts = page.locator("figure.chart svg[role=img]")
    assert charts.count() == 5
    assert page.locator("#trend-nps-title").text_content() == "NPS by week"
    assert page.locator("#trend-nps .chart-line").count() == 1
    assert page.locator("#trend-nps .chart-band").count() == 1
    assert page.locator("#trend-nps .chart-point").count() == 8
    assert page.locator("#nps-distribution .chart-bar").count() == 11
    box = page.locator("#trend-nps svg[role=img]").bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 100
    # the numbers are there for screen readers, not on screen
    table = page.locator("#nps-distribution .chart-data table")
    assert table.count() == 1
    hidden = page.locator("#nps-distribution .chart-data").bounding_box()
    assert hidden is not None
    assert hidden["width"] <= 1
    assert "Promoters" in table.text_content()
    assert axe_violations(page) == []

    # when: a filter is chosen
    page.select_option("#f-period", "month")
    page.select_option("#f-by", "survey")
    page.get_by_role("button", name="Apply").click()

    # then: it is in the URL and the charts follow it
    page.wait_for_url("**period=month**")
    assert "by=survey" in page.url
    assert page.locator("#trend-nps-title").text_content() == "NPS by month"
    assert "Relationship NPS" in page.locator("#breakdown").inner_text()


def test_verbatims_and_drivers_pass_axe(page, login_as, alice, live_server):
    # given
    _answers(None)
    login_as(alice)

    # when
    page.goto("/feedback/verbatims/?band=detractor")

    # then
    assert page.locator("[data-verbatim]").count() == 16
    assert "The card was declined again" in page.locator("[data-verbatim]").first.inner_text()
    assert axe_violations(page) == []

    # when
    page.goto("/feedback/drivers/")

    # then
    assert "card declined" in page.locator("table.drivers-table").first.inner_text()
    assert axe_violations(page) == []
