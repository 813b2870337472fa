"""The customer's survey page /p/s/<token>/: opened from a signed link without login, answered once, in the
invitation's language, with errors beside their question, partial answers kept, and clear pages for bad links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from cxloop.core import clock
from cxloop.feedback.definitions import standard_definition
from cxloop.feedback.links import invitation_token, survey_path
from cxloop.feedback.models import Invitation, Response
from cxloop.interactions.models import Interaction
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, SurveyFactory

CONDITIONAL = {
    "title": "Your delivery",
    "intro": "Two minutes, no more.",
    "thank_you": "Thanks, we will look into it.",
    "questions": [
        {"id": "rating", "type": "rating", "text": "How was the delivery?", "required": True},
        {
            "id": "why",
            "type": "multiple",
            "text": "What went wrong?",
            "choices": [{"value": "late", "label": "It was late"}, {"value": "damaged", "label": "It was damaged"}],
            "show_if": {"question": "rating", "at_most": 2},
        },
        {"id": "notes", "type": "text", "text": "Anything else?", "required": True},
    ],
}


@pytest.fixture
def invitation(db: None) -> Invitation:
    survey = SurveyFactory(key="nps-after-case", kind="nps", definition=standard_definition("nps"))
    return InvitationFactory(survey=survey, customer=CustomerFactory(name="Ann Lee"))


def _path(invitation: Invitation, suffix: str = "") -> str:
    return f"/p/s/{invitation_token(invitation.public_id)}/{suffix}"


def test_the_emailed_link_shows_the_survey_with_the_clicked_score_chosen(client: Client, invitation):
    # when
    page = client.get(survey_path(invitation.public_id, score=3))

    # then
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0")
    html = page.content.decode()
    assert '<html lang="en">' in html
    assert "How likely are you to recommend us to a friend or colleague?" in html
    assert html.count('type="radio"') == 11
    assert 'id="a-score-3" name="score" value="3" checked' in html
    assert html.count(" checked") == 1
    assert '<label for="a-comment">What is the main reason for your score?</label>' in html
    assert "0 means “Not at all likely”, 10 means “Extremely likely”." in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert Invitation.objects.get().status == "opened"


def test_an_out_of_range_score_in_the_link_is_explained_and_nothing_is_chosen(client: Client, invitation):
    page = client.get(survey_path(invitation.public_id, score=11))

    html = page.content.decode()
    assert page.status_code == 200
    assert "The score in your link could not be used (must be between 0 and 10)." in html
    assert " checked" not in html
    assert Invitation.objects.get().partial_answers == {}


def test_submitting_records_the_answer_and_shows_the_thank_you_page(client: Client, invitation):
    # given
    path = _path(invitation)

    # when
    sent = client.post(path, {"score": "3", "comment": "Nobody called me back. Furious."})

    # then
    assert sent.status_code == 302
    assert sent["Location"] == f"{path}thanks/"
    response = Response.objects.get()
    assert (response.score, response.comment) == (3, "Nobody called me back. Furious.")
    thanks = client.get(sent["Location"])
    assert thanks.status_code == 200
    assert "<h1>Thank you</h1>" in thanks.content.decode()
    assert "Thank you. We read every answer." in thanks.content.decode()


def test_a_second_submission_gets_the_already_answered_page_and_counts_once(client: Client, invitation):
    # given
    client.post(_path(invitation), {"score": "3", "comment": "Bad"})

    # when
    again = client.post(_path(invitation), {"score": "10", "comment": "Great"})
    reopened = client.get(_path(invitation))

    # then
    for page in (again, reopened):
        assert page.status_code == 409
        assert "We already have your answer — thank you" in page.content.decode()
    assert list(Response.objects.values_list("score", "comment")) == [(3, "Bad")]
    assert Interaction.objects.count() == 1


def test_bad_answers_come_back_beside_their_question_with_the_typed_text_kept(client: Client, invitation):
    # when
    page = client.post(_path(invitation), {"score": "11", "comment": "I <b>typed</b> this"})

    # then
    assert page.status_code == 422
    html = page.content.decode()
    assert "<title>Error: A few questions for you</title>" in html
    assert (
        'href="#q-score">How likely are you to recommend us to a friend or colleague?: must be between 0 and 10' in html
    )
    assert (
        '<p class="error" id="e-score"><span class="visually-hidden">Error: </span>must be between 0 and 10</p>' in html
    )
    assert 'aria-describedby="h-score e-score"' in html
    assert ">I &lt;b&gt;typed&lt;/b&gt; this</textarea>" in html
    assert Response.objects.count() == 0
    assert Invitation.objects.get().partial_answers == {"comment": "I <b>typed</b> this"}


def test_a_missing_required_answer_is_named(client: Client, invitation):
    page = client.post(_path(invitation), {"comment": "No score from me"})

    assert page.status_code == 422
    assert (
        '<p class="error" id="e-score"><span class="visually-hidden">Error: </span>please answer this question</p>'
        in (page.content.decode())
    )


def test_partial_answers_are_saved_and_shown_on_return(client: Client, invitation):
    # when
    saved = client.post(_path(invitation, "partial/"), {"score": "6", "comment": "Half way through"})
    page = client.get(_path(invitation))

    # then
    assert saved.status_code == 200
    assert saved.json() == {"saved": ["comment", "score"], "errors": {}}
    html = page.content.decode()
    assert 'value="6" checked' in html
    assert ">Half way through</textarea>" in html


def test_a_partial_save_reports_the_bad_answer_and_keeps_the_rest(client: Client, invitation):
    saved = client.post(_path(invitation, "partial/"), {"score": "-1", "comment": "Kept"})

    assert saved.json() == {"saved": ["comment"], "errors": {"answers.score": "must be between 0 and 10"}}
    assert Invitation.objects.get().partial_answers == {"comment": "Kept"}


def test_the_partial_save_needs_the_csrf_token(invitation):
    client = Client(enforce_csrf_checks=True)

    refused = client.post(_path(invitation, "partial/"), {"score": "6"})

    assert refused.status_code == 403
    assert Invitation.objects.get().partial_answers == {}


def test_without_script_every_question_shows_and_hidden_answers_are_ignored(client: Client, db):
    # given
    survey = SurveyFactory(key="delivery", kind="custom", definition=CONDITIONAL)
    invitation = InvitationFactory(survey=survey, customer=CustomerFactory())

    # when: the form as drawn has the conditional question, with its condition for the script
    page = client.get(_path(invitation))
    sent = client.post(_path(invitation), {"rating": "5", "why": ["late", "damaged"], "notes": "Fine"})

    # then
    html = page.content.decode()
    assert '<p class="intro">Two minutes, no more.</p>' in html
    assert "What went wrong?" in html
    assert (
        'data-show-if="{&quot;question&quot;: &quot;rating&quot;, &quot;in&quot;: [], &quot;at_most&quot;: 2, '
        "&quot;at_least&quot;: null, &quot;answered&quot;: false}" in html
    )
    assert html.count('type="checkbox"') == 2
    assert sent.status_code == 302
    assert Response.objects.get().answers == {"rating": 5, "notes": "Fine"}
    assert "Thanks, we will look into it." in client.get(sent["Location"]).content.decode()


def test_the_page_speaks_the_invitations_language(client: Client, invitation):
    # given
    survey = invitation.survey
    survey.translations = {
        "de": {
            "questions": {
                "score": {
                    "text": "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?",
                    "low_label": "Sehr unwahrscheinlich",
                    "high_label": "Sehr wahrscheinlich",
                },
                "comment": {"text": "Was ist der wichtigste Grund?"},
            }
        }
    }
    survey.save()
    Invitation.objects.filter(pk=invitation.pk).update(locale="de")

    # when
    html = client.get(_path(invitation)).content.decode()

    # then
    assert '<html lang="de">' in html
    assert "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?" in html
    assert "Was ist der wichtigste Grund?" in html
    assert "Sehr unwahrscheinlich" in html


@pytest.mark.parametrize(
    ("path", "status", "title"),
    [
        ("/p/s/forged-token/", 404, "This link does not work"),
        (f"/p/s/{invitation_token('inv_doesnotexist')}/", 404, "This link does not work"),
        ("/p/s/forged-token/thanks/", 404, "This link does not work"),
    ],
)
def test_a_forged_or_unknown_link_gets_a_clear_page(client: Client, db, path, status, title):
    page = client.get(path)

    assert page.status_code == status
    assert f"<h1>{title}</h1>" in page.content.decode()


def test_an_expired_link_gets_a_clear_page_and_takes_no_answer(client: Client, invitation):
    # given
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=clock.now() - timedelta(seconds=1))

    # when
    opened = client.get(_path(invitation))
    sent = client.post(_path(invitation), {"score": "9"})
    partial = client.post(_path(invitation, "partial/"), {"score": "9"})

    # then
    for page in (opened, sent):
        assert page.status_code == 410
        assert "<h1>This survey has expired</h1>" in page.content.decode()
    assert partial.status_code == 410
    assert partial.json()["error"]["code"] == "survey_link_expired"
    assert Response.objects.count() == 0
    assert Invitation.objects.get().partial_answers == {}


def test_the_thank_you_page_waits_for_an_answer(client: Client, invitation):
    path = _path(invitation)

    page = client.get(f"{path}thanks/")

    assert page.status_code == 302
    assert page["Location"] == path
