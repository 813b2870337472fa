"""The journey page in a real Chromium: the diagram is drawn (an SVG image with a name, a box per step, the number
of customers in each), the per-step counts and figures are on the page, an enrolment's history opens from the
list, the editor shows each problem by path and keeps the typed text, and the pages are clean under axe-core."""

from __future__ import annotations

import pytest

from tests.browser.test_feedback_dashboard import axe_violations
from tests.customers.factories import CustomerFactory
from tests.journeys.factories import enrolment, make_journey

pytestmark = pytest.mark.browser


def _onboarding():  # type: ignore[no-untyped-def]
    """The shipped onboarding journey, active, with customers spread over its steps."""
    from cxloop.core.actor import Actor
    from cxloop.journeys import services

    system = Actor.system("test")
    journey = services.activate_journey(system, services.install_example(system, "onboarding"))
    for _ in range(3):
        enrolment(journey, step="wait_first_use", passed=("welcome",))
    for _ in range(2):
        enrolment(journey, step="settle_in", passed=("welcome", "wait_first_use", "pause_a_day", "morning", "check_in"))
    enrolment(
        journey,
        step="done",
        state="exited",
        exit_reason="onboarded",
        passed=("welcome", "wait_first_use", "pause_a_day", "morning", "check_in", "settle_in", "satisfaction"),
        customer=CustomerFactory(name="Ann Lee"),
        detail={"why": "product.used arrived on day 2"},
    )
    return journey


def test_the_journey_page_shows_the_diagram_and_per_step_counts(page, login_as, bob, live_server):
    # given
    _onboarding()
    login_as(bob)

    # when
    page.goto("/journeys/onboarding/")

    # then: the diagram is an image with a name and a box per step, each with its count
    svg = page.locator("figure.journey-diagram svg[role=img]")
    assert svg.count() == 1
    assert page.locator("#journey-diagram-title").text_content() == "Onboarding: journey diagram"
    assert page.locator("figure.journey-diagram g.journey-step").count() == 11
    box = svg.bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert box["height"] > 200
    waiting = page.locator('figure.journey-diagram g.journey-step[data-step="wait_first_use"]')
    assert "· 3 in step" in waiting.locator("text").first.text_content()
    settling = page.locator('figure.journey-diagram g.journey-step[data-step="settle_in"]')
    assert "· 2 in step" in settling.locator("text").first.text_content()
    # the same numbers in the per-step table and the figures
    row = page.locator('#steps tr[data-step="wait_first_use"] td.num')
    assert row.all_text_contents() == ["3", "6"]  # now at the step, passed through it
    assert page.locator("#figure-entered").text_content() == "6"
    assert page.locator("#figure-active").text_content() == "5"
    assert page.locator("#journey-trend svg[role=img]").count() == 1
    assert axe_violations(page) == []

    # when: the history of the customer who finished
    page.get_by_role("link", name="History of Ann Lee").click()

    # then
    page.wait_for_url("**/enrolments/enr_*/")
    history = page.locator("#history tbody tr")
    assert history.count() == 8
    assert "product.used arrived on day 2" in history.last.inner_text()
    assert axe_violations(page) == []


def test_the_editor_lists_problems_by_path_and_keeps_the_text(page, login_as, bob, live_server):
    # given
    make_journey("welcome")
    login_as(bob)
    page.goto("/journeys/welcome/edit/")
    box = page.locator("textarea[name=source]")
    typed = box.input_value().replace("next: done", "next: nowhere")

    # when
    box.fill(typed)
    page.get_by_role("button", name="Save as new version").click()

    # then: the problem by its path, beside the text as typed
    problems = page.locator("#problems")
    problems.wait_for()
    assert "steps[1].next: no step has the id 'nowhere'" in problems.inner_text()
    assert page.locator("textarea[name=source]").input_value() == typed
    assert axe_violations(page) == []

    # when: the page is opened again without saving, the unsaved draft comes back
    page.goto("/journeys/welcome/edit/")

    # then
    assert page.locator("textarea[name=source]").input_value() == typed
