"""The survey page in a real Chromium at a phone's size: an emailed one-click score link answered with an angry
comment, clean under axe-core; a whole answer given with the keyboard alone; conditional questions appearing as
the customer answers; answers kept while the customer goes."""

from __future__ import annotations

from pathlib import Path

import axe_playwright_python
import pytest

from cxloop.feedback.definitions import standard_definition
from cxloop.feedback.links import invitation_token, survey_path
from cxloop.feedback.models import Invitation, Response
from cxloop.interactions.models import Interaction
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, SurveyFactory

pytestmark = pytest.mark.browser

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")
PHONE = {"width": 375, "height": 740}
ANGRY = "Three weeks waiting for a refund and nobody called me back. I am furious and I want my money now!"
DELIVERY = {
    "title": "Your delivery",
    "questions": [
        {"id": "rating", "type": "rating", "text": "How was the delivery?", "required": True},
        {
            "id": "why",
            "type": "multiple",
            "text": "What went wrong?",
            "choices": [{"value": "late", "label": "It was late"}, {"value": "damaged", "label": "It was damaged"}],
            "show_if": {"question": "rating", "at_most": 2},
        },
        {"id": "notes", "type": "text", "text": "Anything else?"},
    ],
}


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Every axe-core violation on the page, whatever its impact (the script is inlined, not fetched)."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in result["violations"]
    ]


@pytest.fixture
def nps_invitation(db: None) -> Invitation:
    survey = SurveyFactory(key="nps-after-case", kind="nps", definition=standard_definition("nps"))
    return InvitationFactory(survey=survey, customer=CustomerFactory(name="Ann Lee"), case_ref="cas_1")


def _no_sideways_scrolling(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_an_emailed_score_of_3_is_answered_with_an_angry_comment_on_a_phone(page, nps_invitation):
    # given
    page.set_viewport_size(PHONE)

    # when: the customer taps "3" in the email
    page.goto(survey_path(nps_invitation.public_id, score=3))

    # then: the survey with 3 chosen, big enough to tap, clean under axe
    assert page.locator("h1").inner_text() == "A few questions for you"
    assert page.get_by_role("radio", name="3", exact=True).is_checked()
    box = page.locator("label[for=a-score-10]").bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert box["width"] >= 44
    assert _no_sideways_scrolling(page)
    assert axe_violations(page) == []

    # when: an angry comment, sent
    page.get_by_label("What is the main reason for your score?").fill(ANGRY)
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_url("**/thanks/")

    # then
    assert page.locator("h1").inner_text() == "Thank you"
    assert axe_violations(page) == []
    response = Response.objects.get()
    assert (response.score, response.comment, response.sentiment_label) == (3, ANGRY, "negative")
    assert Interaction.objects.get(public_id=response.interaction_ref).summary.startswith("NPS 3 — Three weeks")


def test_a_whole_answer_with_the_keyboard_alone(page, nps_invitation):
    # given
    page.set_viewport_size(PHONE)
    page.goto(f"/p/s/{invitation_token(nps_invitation.public_id)}/")

    # when: skip link, then into the scale, three steps right, to the comment, to the button
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "a-score-0"
    for _ in range(3):
        page.keyboard.press("ArrowRight")

    # then: 3 is chosen, and its focus can be seen
    assert page.evaluate("document.activeElement.id") == "a-score-3"
    assert page.get_by_role("radio", name="3", exact=True).is_checked()
    outline = page.evaluate("getComputedStyle(document.querySelector('label[for=a-score-3]')).outlineStyle")
    assert outline == "solid"

    # when
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "a-comment"
    page.keyboard.type("The app logged me out twice.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Send my answers"
    page.keyboard.press("Enter")
    page.wait_for_url("**/thanks/")

    # then
    assert list(Response.objects.values_list("score", "comment")) == [(3, "The app logged me out twice.")]


def test_errors_are_announced_and_reachable(page, nps_invitation):
    # given
    page.set_viewport_size(PHONE)
    page.goto(f"/p/s/{invitation_token(nps_invitation.public_id)}/")

    # when: sent without a score
    page.get_by_label("What is the main reason for your score?").fill("No score from me")
    page.get_by_role("button", name="Send my answers").click()

    # then: the summary takes the focus, the typed text is kept, and the page is still clean
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.locator("#e-score").text_content() == "Error: please answer this question"
    assert page.get_by_label("What is the main reason for your score?").input_value() == "No score from me"
    assert axe_violations(page) == []
    assert Response.objects.count() == 0


def test_a_conditional_question_appears_as_the_customer_answers_and_answers_are_kept(page, db):
    # given
    survey = SurveyFactory(key="delivery", kind="custom", definition=DELIVERY)
    invitation = InvitationFactory(survey=survey, customer=CustomerFactory())
    path = f"/p/s/{invitation_token(invitation.public_id)}/"
    page.set_viewport_size(PHONE)
    page.goto(path)
    why = page.get_by_role("group", name="What went wrong?")

    # then: hidden until the rating is low
    assert not why.is_visible()
    page.locator("label[for=a-rating-5]").click()  # the customer taps the number, not the hidden radio
    assert not why.is_visible()
    page.locator("label[for=a-rating-1]").click()
    assert why.is_visible()
    page.get_by_label("It was late").check()
    page.get_by_label("Anything else?").fill("The box was open")

    # and: what was answered is kept on the server as the customer goes
    page.wait_for_function("document.querySelector('[data-autosave]').textContent !== ''")
    expected = {"rating": 1, "why": ["late"], "notes": "The box was open"}
    for _ in range(50):  # the comment is saved after a pause in typing
        if Invitation.objects.get().partial_answers == expected:
            break
        page.wait_for_timeout(100)
    assert Invitation.objects.get().partial_answers == expected

    # when: the customer comes back later
    page.goto(path)

    # then
    assert page.get_by_role("radio", name="1", exact=True).is_checked()
    assert page.get_by_label("It was late").is_checked()
    assert page.get_by_label("Anything else?").input_value() == "The box was open"
    assert axe_violations(page) == []


def test_bad_and_answered_links_get_clean_pages(page, nps_invitation):
    page.set_viewport_size(PHONE)
    response = page.goto("/p/s/not-a-real-token/")
    assert response is not None
    assert response.status == 404
    assert page.locator("h1").inner_text() == "This link does not work"
    assert axe_violations(page) == []
