# ruff: noqa: F811 (the messaging fixtures are imported by name)
"""The survey pages: the list with response rates, creating and editing a survey (errors by path, typed work
kept), triggers, sending from the survey page and from the customer page, and who may do what."""

from __future__ import annotations

import json

import pytest

from cxloop.feedback.models import Invitation, Survey, SurveyTrigger
from cxloop.feedback.services import surveys as survey_services
from tests.feedback.factories import InvitationFactory, ResponseFactory
from tests.messaging.conftest import _messaging_settings, ann, make_customer, senders  # noqa: F401


@pytest.fixture
def nps(db, system) -> Survey:
    survey = survey_services.create_survey(
        system, survey_services.SurveyInput(key="nps-relationship", name="Relationship NPS", kind="nps")
    )
    return survey_services.activate_survey(system, survey)


@pytest.fixture
def custom(db, system) -> Survey:
    return survey_services.create_survey(
        system, survey_services.SurveyInput(key="onboarding", name="Onboarding", kind="custom")
    )


def test_the_list_shows_sent_answers_and_the_response_rate(client, charlie, nps):
    for _ in range(4):
        InvitationFactory(survey=nps)
    ResponseFactory(invitation=InvitationFactory(survey=nps, status="answered"))
    client.force_login(charlie.user)

    page = client.get("/feedback/surveys/")

    assert page.status_code == 200
    row = page.content.decode().split('id="nps-relationship"')[1].split("</tr>")[0]
    cells = [c.split("<")[0].strip() for c in row.split('<td class="num">')[1:]]
    assert cells == ["5", "1", "20%"]
    assert b'aria-current="page">Surveys' in page.content
    assert b"New survey" not in page.content  # charlie (analyst) may read, not manage


def test_pages_need_login_and_feedback_view(client, nps, db):
    assert client.get("/feedback/surveys/").status_code == 302
    assert client.get("/feedback/surveys/nps-relationship/").status_code == 302


def test_a_supervisor_creates_a_survey_with_the_standard_questions(client, bob):
    client.force_login(bob.user)

    response = client.post(
        "/feedback/surveys/new/", {"name": "After a case", "key": "csat-case", "kind": "csat", "purpose": "service"}
    )

    survey = Survey.objects.get(key="csat-case")
    assert response.status_code == 302
    assert response["Location"] == "/feedback/surveys/csat-case/"
    assert (survey.status, survey.version, survey.definition["questions"][0]["type"]) == ("draft", 1, "csat")
    page = client.get(response["Location"])
    assert b"How satisfied are you with the help you received?" in page.content  # the preview
    assert b'name="score_text"' in page.content  # the editor's field


def test_an_agent_cannot_create_or_edit_a_survey(client, alice, nps):
    client.force_login(alice.user)

    created = client.post("/feedback/surveys/new/", {"name": "X", "key": "x", "kind": "nps", "purpose": "service"})
    edited = client.post("/feedback/surveys/nps-relationship/settings/", {"name": "Y", "purpose": "service"})

    assert created.status_code == 403
    assert edited.status_code == 403
    assert list(Survey.objects.values_list("key", "name")) == [("nps-relationship", "Relationship NPS")]


def test_editing_the_standard_texts_raises_the_version(client, bob, nps):
    client.force_login(bob.user)

    response = client.post(
        "/feedback/surveys/nps-relationship/questions/",
        {
            "title": "Two minutes?",
            "score_text": "Would you recommend Fernhill to a friend?",
            "low_label": "Never",
            "high_label": "Surely",
            "comment_text": "Why?",
            "thank_you": "Thanks!",
        },
    )

    assert response.status_code == 302
    nps.refresh_from_db()
    assert nps.version == 2
    assert nps.definition["questions"][0] == {
        "id": "score",
        "type": "nps",
        "required": True,
        "text": "Would you recommend Fernhill to a friend?",
        "low_label": "Never",
        "high_label": "Surely",
    }
    assert nps.definition["questions"][1]["text"] == "Why?"


def test_a_custom_definition_with_errors_is_shown_again_with_each_path(client, bob, custom):
    client.force_login(bob.user)
    document = {
        "questions": [
            {"id": "plan", "type": "single", "text": "Which plan?", "choices": []},
            {"id": "why", "type": "text", "text": "Why?", "show_if": {"question": "nope", "in": ["x"]}},
        ]
    }
    typed = json.dumps(document)

    response = client.post("/feedback/surveys/onboarding/questions/", {"document": typed})

    assert response.status_code == 422
    body = response.content.decode()
    assert "definition.questions[0].choices" in body
    assert "must be a non-empty list" in body
    assert "definition.questions[1].show_if.question" in body
    assert json.dumps(document).replace('"', "&quot;") in body  # what was typed is kept
    custom.refresh_from_db()
    assert custom.version == 1


def test_a_custom_definition_that_is_not_json_says_where(client, bob, custom):
    client.force_login(bob.user)

    response = client.post("/feedback/surveys/onboarding/questions/", {"document": '{"questions": [}'})

    assert response.status_code == 422
    assert b"Not JSON" in response.content
    assert b"line 1, column 16" in response.content


def test_a_valid_custom_definition_is_saved_and_previewed(client, bob, custom):
    client.force_login(bob.user)
    document = {
        "title": "Welcome",
        "questions": [
            {"id": "plan", "type": "single", "text": "Which plan?", "choices": ["basic", "pro"]},
            {"id": "ease", "type": "rating", "text": "How easy was the set-up?", "min": 1, "max": 5},
        ],
    }

    response = client.post("/feedback/surveys/onboarding/questions/", {"document": json.dumps(document)})
    page = client.get("/feedback/surveys/onboarding/")

    assert response.status_code == 302
    custom.refresh_from_db()
    assert custom.definition == document
    assert custom.version == 2
    assert b"How easy was the set-up?" in page.content
    assert b"Which plan?" in page.content


def test_a_translation_is_saved_and_a_wrong_question_named(client, bob, nps):
    client.force_login(bob.user)

    wrong = client.post(
        "/feedback/surveys/nps-relationship/translations/",
        {"locale": "de", "texts": json.dumps({"questions": {"nope": {"text": "?"}}})},
    )
    right = client.post(
        "/feedback/surveys/nps-relationship/translations/",
        {"locale": "de", "texts": json.dumps({"questions": {"score": {"text": "Würden Sie uns empfehlen?"}}})},
    )

    assert wrong.status_code == 422
    assert b"translation.questions.nope: no such question" in wrong.content
    assert right.status_code == 302
    nps.refresh_from_db()
    assert nps.translations == {"de": {"questions": {"score": {"text": "Würden Sie uns empfehlen?"}}}}


def test_triggers_are_added_paused_and_removed(client, bob, nps):
    client.force_login(bob.user)

    added = client.post(
        "/feedback/surveys/nps-relationship/triggers/",
        {"event_name": "case.resolved", "delay_minutes": "60", "channel": "", "goals": "refund, care"},
    )
    trigger = SurveyTrigger.objects.get()
    paused = client.post(f"/feedback/surveys/nps-relationship/triggers/{trigger.public_id}/", {"action": "pause"})
    trigger.refresh_from_db()
    was_active = trigger.is_active
    removed = client.post(f"/feedback/surveys/nps-relationship/triggers/{trigger.public_id}/", {"action": "delete"})

    assert [added.status_code, paused.status_code, removed.status_code] == [302, 302, 302]
    assert (trigger.delay_minutes, trigger.conditions, was_active) == (60, {"goals": ["refund", "care"]}, False)
    assert SurveyTrigger.objects.count() == 0


def test_a_bad_trigger_is_refused_beside_its_field(client, bob, nps):
    client.force_login(bob.user)

    response = client.post(
        "/feedback/surveys/nps-relationship/triggers/",
        {"event_name": "purchase.completed", "delay_minutes": "0", "channel": "", "goals": "refund"},
    )

    assert response.status_code == 422
    assert b"only for case events" in response.content
    assert SurveyTrigger.objects.count() == 0


def test_an_agent_sends_the_survey_from_the_customer_page(client, alice, nps, ann, senders):
    client.force_login(alice.user)
    page = client.get(f"/customers/{ann.public_id}/")
    assert b"Send a survey" in page.content

    response = client.post(
        f"/customers/{ann.public_id}/surveys/send/",
        {"send-survey": "nps-relationship", "send-channel": "email", "next": f"/customers/{ann.public_id}/"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/customers/{ann.public_id}/"
    invitation = Invitation.objects.get()
    assert (invitation.customer, invitation.trigger, invitation.created_by) == (ann, "manual", alice.user)
    followed = client.get(response["Location"])
    assert b"Sent Relationship NPS to Ann Smith by email." in followed.content
    assert b"Relationship NPS</a> \xc2\xb7 email \xc2\xb7 Sent" in followed.content


def test_fatigue_on_the_customer_page_says_when_they_were_last_asked(client, alice, nps, ann, senders, settings):
    settings.CXLOOP_SURVEY_FATIGUE_DAYS = 30
    client.force_login(alice.user)
    form = {"send-survey": "nps-relationship", "send-channel": "email"}
    client.post(f"/customers/{ann.public_id}/surveys/send/", form)

    response = client.post(f"/customers/{ann.public_id}/surveys/send/", form, follow=True)

    assert Invitation.objects.count() == 1
    assert b"Not sent: The customer was last sent a survey (Relationship NPS)" in response.content


def test_an_analyst_sees_the_panel_but_cannot_send(client, charlie, nps, ann, senders):
    client.force_login(charlie.user)

    page = client.get(f"/customers/{ann.public_id}/")
    refused = client.post(
        f"/customers/{ann.public_id}/surveys/send/", {"send-survey": "nps-relationship", "send-channel": "email"}
    )

    assert b"has not been asked a survey" in page.content
    assert b"Send a survey" not in page.content
    assert refused.status_code == 403
    assert Invitation.objects.count() == 0


def test_sending_from_the_survey_page_to_an_unknown_customer_keeps_the_form(client, alice, nps, senders):
    client.force_login(alice.user)

    response = client.post(
        "/feedback/surveys/nps-relationship/send/", {"send-customer": "cus_nobody", "send-channel": "email"}
    )

    assert response.status_code in (404, 422)
    assert Invitation.objects.count() == 0


def test_activate_and_archive(client, bob, custom, db):
    client.force_login(bob.user)
    refused = client.post("/feedback/surveys/onboarding/status/", {"action": "activate"})  # no questions yet
    custom.refresh_from_db()
    assert custom.status == "draft"
    assert refused.status_code == 422

    archived = client.post("/feedback/surveys/onboarding/status/", {"action": "archive"})

    custom.refresh_from_db()
    assert archived.status_code == 302
    assert custom.status == "archived"


def test_sending_to_a_customer_made_for_the_test(client, alice, nps, senders, db):
    bo = make_customer("Bo Berg", email="bo@example.com")
    client.force_login(alice.user)

    response = client.post(
        "/feedback/surveys/nps-relationship/send/", {"send-customer": bo.public_id, "send-channel": "email"}
    )

    assert response.status_code == 302
    assert Invitation.objects.get().customer == bo
    assert len(senders["email"].sent) == 0  # dispatched on commit, after the response


def test_an_agent_sends_the_survey_about_a_case_from_the_case_page(client, alice, nps, ann, senders):
    from cxloop.cases.services import cases as case_services
    from cxloop.cases.services.cases import CaseInput

    case = case_services.open_case(alice.actor, CaseInput(customer=ann, subject="Late parcel", owner=alice.user))
    client.force_login(alice.user)
    page = client.get(f"/cases/{case.public_id}/")
    html = page.content.decode()
    assert "No survey was sent about this case." in html
    assert f'value="{case.public_id}"' in html  # the case travels with the form

    response = client.post(
        f"/customers/{ann.public_id}/surveys/send/",
        {
            "send-survey": "nps-relationship",
            "send-channel": "email",
            "send-case": case.public_id,
            "next": f"/cases/{case.public_id}/#case-survey",
        },
    )

    assert response["Location"] == f"/cases/{case.public_id}/#case-survey"
    invitation = Invitation.objects.get()
    assert (invitation.case_ref, invitation.agent) == (case.public_id, alice.user)
    after = client.get(f"/cases/{case.public_id}/").content.decode()
    assert "Relationship NPS</a> · email · Sent" in after


def test_the_case_page_offers_no_survey_to_an_analyst(client, charlie, alice, nps, ann):
    from cxloop.cases.services import cases as case_services
    from cxloop.cases.services.cases import CaseInput

    case = case_services.open_case(alice.actor, CaseInput(customer=ann, subject="Late parcel", owner=alice.user))
    client.force_login(charlie.user)

    html = client.get(f"/cases/{case.public_id}/").content.decode()

    assert "Send a survey about this case" not in html
