"""Answering a survey through its signed link: opening (one-click score), partial answers, the one response per
invitation, and what a response writes (score, comment analysis, profile attributes, timeline, audit, event)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cxloop.core import clock
from cxloop.core.errors import ValidationError
from cxloop.customers.models import Customer
from cxloop.events import bus
from cxloop.feedback.definitions import standard_definition
from cxloop.feedback.errors import (
    AlreadyAnsweredError,
    SurveyLinkExpiredError,
    SurveyLinkInvalidError,
    SurveyNotActiveError,
)
from cxloop.feedback.links import invitation_token
from cxloop.feedback.models import Invitation, Response
from cxloop.feedback.services import responses
from cxloop.interactions.models import Interaction
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import AttributeDefinitionFactory, CustomerFactory
from tests.feedback.factories import InvitationFactory, SurveyFactory

CUSTOMER = responses.respondent_actor("203.0.113.9")

CUSTOM = {
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
        {"id": "address", "type": "text", "text": "Confirm your delivery address", "attribute": "delivery_address"},
        {
            "id": "contact",
            "type": "single",
            "text": "How should we reach you?",
            "choices": ["email", "phone", "pigeon"],
            "attribute": "preferred_contact",
        },
    ],
}


@pytest.fixture
def nps_invitation(db: None) -> Invitation:
    survey = SurveyFactory(key="nps-after-case", kind="nps", definition=standard_definition("nps"))
    customer = CustomerFactory(name="Ann Lee", locale="en-GB", lifecycle_stage="loyal")
    return InvitationFactory(survey=survey, customer=customer, case_ref="cas_123", goal_key="care", channel="email")


@pytest.fixture
def custom_invitation(db: None) -> Invitation:
    AttributeDefinitionFactory(key="delivery_address", type="text")
    AttributeDefinitionFactory(key="preferred_contact", type="choice", choices=["email", "phone"])
    survey = SurveyFactory(key="delivery-check", kind="custom", definition=CUSTOM)
    return InvitationFactory(survey=survey, customer=CustomerFactory(name="Bo Chen"))


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[bus.DomainEvent]:
    seen: list[bus.DomainEvent] = []
    monkeypatch.setattr(bus, "_deliver", seen.append)
    return seen


def _token(invitation: Invitation) -> str:
    return invitation_token(invitation.public_id)


# --- opening -------------------------------------------------------------------------------------------------------


def test_opening_notes_the_first_open_and_keeps_a_one_click_score(nps_invitation):
    # when
    opened = responses.open_invitation(CUSTOMER, _token(nps_invitation), score="3")
    first_open = Invitation.objects.get().opened_at
    again = responses.open_invitation(CUSTOMER, _token(nps_invitation))

    # then
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.partial_answers) == ("opened", {"score": 3})
    assert opened.answers == {"score": 3} == again.answers
    assert opened.score_error == ""
    assert invitation.opened_at == first_open is not None
    assert [q.id for q in opened.definition.questions] == ["score", "comment"]


def test_an_out_of_range_one_click_score_is_explained_and_kept_nowhere(nps_invitation):
    # when
    opened = responses.open_invitation(CUSTOMER, _token(nps_invitation), score="11")

    # then
    assert opened.score_error == "must be between 0 and 10"
    assert opened.answers == {}
    assert Invitation.objects.get().partial_answers == {}


def test_the_survey_is_shown_in_the_invitations_language(nps_invitation):
    # given
    survey = nps_invitation.survey
    survey.translations = {"de": {"questions": {"score": {"text": "Wie wahrscheinlich ist es …?"}}}}
    survey.save()
    Invitation.objects.filter(pk=nps_invitation.pk).update(locale="de-AT")

    # when
    opened = responses.open_invitation(CUSTOMER, _token(nps_invitation))

    # then
    assert opened.locale == "de-AT"
    assert opened.definition.questions[0].text == "Wie wahrscheinlich ist es …?"
    assert opened.definition.questions[1].text == "What is the main reason for your score?"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "aW52X2Zha2U:1tFake:bad-signature",
        invitation_token("inv_doesnotexist"),
        invitation_token("cus_1"),
    ],
)
def test_a_forged_or_unknown_link_is_refused(db, token):
    with pytest.raises(SurveyLinkInvalidError):
        responses.open_invitation(CUSTOMER, token)


def test_a_link_that_was_never_sent_is_not_valid(nps_invitation):
    Invitation.objects.filter(pk=nps_invitation.pk).update(status="skipped")

    with pytest.raises(SurveyLinkInvalidError):
        responses.open_invitation(CUSTOMER, _token(nps_invitation))


# --- partial answers ----------------------------------------------------------------------------------------------


def test_partial_answers_are_kept_and_the_bad_ones_left_out(nps_invitation):
    # when
    result = responses.save_partial_answers(
        CUSTOMER, _token(nps_invitation), {"score": "12", "comment": "  Still waiting for a refund  "}
    )

    # then
    assert result.errors == {"answers.score": "must be between 0 and 10"}
    assert result.answers == {"comment": "Still waiting for a refund"}
    reopened = responses.open_invitation(CUSTOMER, _token(nps_invitation))
    assert reopened.answers == {"comment": "Still waiting for a refund"}
    assert Response.objects.count() == 0


def test_a_failed_submit_keeps_the_valid_answers(nps_invitation):
    # when
    with pytest.raises(ValidationError) as caught:
        responses.submit_response(CUSTOMER, _token(nps_invitation), {"comment": "You lost my parcel"})

    # then
    assert caught.value.fields == {"answers.score": "please answer this question"}
    invitation = Invitation.objects.get()
    assert invitation.partial_answers == {"comment": "You lost my parcel"}
    assert invitation.status == "sent"
    assert Response.objects.count() == 0


# --- submitting ---------------------------------------------------------------------------------------------------


def test_an_nps_answer_is_recorded_with_its_analysis_on_the_timeline(
    nps_invitation, published, django_capture_on_commit_callbacks
):
    # given
    comment = "Terrible service. I waited three weeks and nobody called me back. I am furious!"

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = responses.submit_response(CUSTOMER, _token(nps_invitation), {"score": "3", "comment": comment})

    # then: the response
    response.refresh_from_db()
    assert (response.kind, response.score, response.comment) == ("nps", 3, comment)
    assert response.answers == {"score": 3, "comment": comment}
    assert (response.channel, response.case_ref, response.goal_key, response.segment) == (
        "email",
        "cas_123",
        "care",
        "loyal",
    )
    assert response.sentiment is not None
    assert response.sentiment < -0.5
    assert response.sentiment_label == "negative"
    assert response.language == "en"
    assert response.locale == "en-GB"
    # the invitation
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.partial_answers) == ("answered", {})
    assert invitation.answered_at == response.submitted_at
    # the timeline
    interaction = Interaction.objects.get(public_id=response.interaction_ref)
    assert (interaction.customer_id, interaction.channel, interaction.direction) == (
        nps_invitation.customer_id,
        "survey",
        "inbound",
    )
    assert (
        interaction.summary == "NPS 3 — Terrible service. I waited three weeks and nobody called me back. I am furious!"
    )
    assert interaction.body.startswith("How likely are you to recommend us to a friend or colleague?\n3\n")
    assert comment in interaction.body
    assert interaction.case_ref == "cas_123"
    assert interaction.metadata["kind"] == "survey_response"
    # the audit and the event
    entry = AuditEntry.objects.get(action="response.received")
    assert (entry.object_id, entry.actor_label, entry.via, entry.ip_address) == (
        response.public_id,
        "survey nps-after-case",
        "survey_page",
        "203.0.113.9",
    )
    received = [e for e in published if e.name == "response.received"]
    assert len(received) == 1
    assert received[0] == responses.ResponseReceived(
        response_id=response.public_id,
        invitation_id=nps_invitation.public_id,
        survey="nps-after-case",
        kind="nps",
        customer_id=nps_invitation.customer.public_id,
        score=3,
        sentiment=response.sentiment,
        emotion=response.emotion,
        case_id="cas_123",
    )


def test_the_summary_cuts_a_long_comment(nps_invitation):
    response = responses.submit_response(CUSTOMER, _token(nps_invitation), {"score": 9, "comment": "Great " * 60})

    summary = Interaction.objects.get(public_id=response.interaction_ref).summary
    assert summary.startswith("NPS 9 — Great Great")
    assert summary.endswith("…")
    assert len(summary) == len("NPS 9 — ") + responses.SUMMARY_COMMENT_CHARS


def test_a_second_submission_is_refused_and_changes_nothing(
    nps_invitation, published, django_capture_on_commit_callbacks
):
    # given
    token = _token(nps_invitation)
    first = responses.submit_response(CUSTOMER, token, {"score": 3, "comment": "Bad"})
    audit_before = AuditEntry.objects.count()

    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AlreadyAnsweredError):
        responses.submit_response(CUSTOMER, token, {"score": 10, "comment": "Actually great"})

    # then
    assert list(Response.objects.values_list("public_id", "score", "comment")) == [(first.public_id, 3, "Bad")]
    assert Interaction.objects.count() == 1
    assert AuditEntry.objects.count() == audit_before
    assert published == []
    with pytest.raises(AlreadyAnsweredError):
        responses.open_invitation(CUSTOMER, token)
    with pytest.raises(AlreadyAnsweredError):
        responses.save_partial_answers(CUSTOMER, token, {"score": 1})


def test_an_expired_link_takes_no_answer(nps_invitation):
    # given
    Invitation.objects.filter(pk=nps_invitation.pk).update(expires_at=clock.now() - timedelta(minutes=1))

    # when / then
    for call in (
        lambda: responses.open_invitation(CUSTOMER, _token(nps_invitation)),
        lambda: responses.submit_response(CUSTOMER, _token(nps_invitation), {"score": 9}),
    ):
        with pytest.raises(SurveyLinkExpiredError):
            call()
    assert Response.objects.count() == 0
    assert Invitation.objects.get().opened_at is None


def test_an_archived_survey_takes_no_answer(nps_invitation):
    nps_invitation.survey.status = "archived"
    nps_invitation.survey.save()

    with pytest.raises(SurveyNotActiveError):
        responses.submit_response(CUSTOMER, _token(nps_invitation), {"score": 9})
    assert Response.objects.count() == 0


def test_an_out_of_range_score_is_refused_with_its_path(nps_invitation, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as caught:
        responses.submit_response(CUSTOMER, _token(nps_invitation), {"score": 11, "comment": "x"})

    assert caught.value.status == 422
    assert caught.value.fields == {"answers.score": "must be between 0 and 10"}
    assert Response.objects.count() == 0
    assert Interaction.objects.count() == 0
    assert published == []


def test_an_unknown_question_is_refused(nps_invitation):
    with pytest.raises(ValidationError) as caught:
        responses.submit_response(CUSTOMER, _token(nps_invitation), {"score": 5, "mood": "meh"})

    assert caught.value.fields == {"answers.mood": "no such question"}


# --- custom surveys: conditions and profile attributes ------------------------------------------------------------


def test_answers_mapped_to_attributes_update_the_profile_with_the_survey_as_source(custom_invitation):
    # when
    response = responses.submit_response(
        CUSTOMER,
        _token(custom_invitation),
        {"rating": "5", "why": ["late"], "notes": "Lovely driver", "address": "1 High St", "contact": "phone"},
    )

    # then: the hidden question's answer is dropped, the comment is the free text that is not profile data
    assert response.answers == {"rating": 5, "notes": "Lovely driver", "address": "1 High St", "contact": "phone"}
    assert (response.score, response.comment, response.kind) == (None, "Lovely driver", "custom")
    customer = Customer.objects.get(pk=custom_invitation.customer_id)
    assert customer.attributes == {"delivery_address": "1 High St", "preferred_contact": "phone"}
    change = AuditEntry.objects.get(action="customer.updated")
    assert change.actor_label == "survey delivery-check"
    assert change.after == {"attributes": {"delivery_address": "1 High St", "preferred_contact": "phone"}}
    assert "Your delivery" not in Interaction.objects.get().summary
    assert Interaction.objects.get().summary == "Delivery Check — Lovely driver"


def test_a_value_the_attribute_does_not_allow_is_refused_on_the_question(custom_invitation):
    with pytest.raises(ValidationError) as caught:
        responses.submit_response(CUSTOMER, _token(custom_invitation), {"rating": 4, "contact": "pigeon"})

    assert caught.value.fields == {"answers.contact": "must be one of email, phone"}
    assert Customer.objects.get(pk=custom_invitation.customer_id).attributes == {}
    assert Response.objects.count() == 0
    assert Invitation.objects.get().partial_answers == {"rating": 4, "contact": "pigeon"}


def test_a_shown_conditional_question_is_kept(custom_invitation):
    response = responses.submit_response(CUSTOMER, _token(custom_invitation), {"rating": 1, "why": ["late", "damaged"]})

    assert response.answers == {"rating": 1, "why": ["late", "damaged"]}
    assert "What went wrong?\nIt was late, It was damaged" in Interaction.objects.get().body
    assert response.comment == ""
    assert response.sentiment is None


def test_the_answer_goes_to_the_profile_a_merged_customer_lives_on_in(nps_invitation):
    # given
    from cxloop.core.actor import Actor
    from cxloop.customers import services as customer_services

    target = CustomerFactory(name="Ann L.")
    customer_services.merge_customers(Actor.system("test"), target, nps_invitation.customer)

    # when
    response = responses.submit_response(CUSTOMER, _token(nps_invitation), {"score": 8})

    # then
    assert response.customer_id == target.pk
    assert Interaction.objects.get().customer_id == target.pk


def test_a_unicode_digit_as_a_score_is_refused_with_its_path():
    from cxloop.core.errors import ValidationError
    from cxloop.feedback.definitions import clean_answers, parse_definition, standard_definition

    definition = parse_definition(standard_definition("nps"), kind="nps")
    with pytest.raises(ValidationError) as refused:
        clean_answers(definition, {"score": "²"}, final=True)
    assert refused.value.fields == {"answers.score": "must be a whole number from 0 to 10"}
