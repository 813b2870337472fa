"""/api/v1/surveys/responses: answers relayed by an integration (web widget, app) with the invitation's token,
and one response read by staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from cxloop.core import clock
from cxloop.feedback.definitions import standard_definition
from cxloop.feedback.links import invitation_token
from cxloop.feedback.models import Invitation, Response
from cxloop.interactions.models import Interaction
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, SurveyFactory

URL = "/api/v1/surveys/responses"


@pytest.fixture
def invitation(db: None) -> Invitation:
    survey = SurveyFactory(key="csat-chat", kind="csat", definition=standard_definition("csat"))
    return InvitationFactory(survey=survey, customer=CustomerFactory(name="Ann Lee"), channel="chat")


def _post(client: Client, member, body: dict) -> object:  # type: ignore[no-untyped-def]
    return client.post(URL, body, content_type="application/json", **member.headers())


def _error(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.json()
    assert list(body) == ["error"]
    return body["error"]


def test_an_integration_records_the_customers_answer(client: Client, alice, invitation):
    # when
    sent = _post(
        client,
        alice,
        {"token": invitation_token(invitation.public_id), "answers": {"score": 2, "comment": "Slow and rude."}},
    )

    # then
    assert sent.status_code == 201, sent.content
    body = sent.json()
    response = Response.objects.get()
    assert body["id"] == response.public_id
    assert (body["survey"], body["kind"], body["score"], body["comment"], body["channel"]) == (
        "csat-chat",
        "csat",
        2,
        "Slow and rude.",
        "chat",
    )
    assert body["sentiment_label"] == "negative"
    assert body["interaction"] == Interaction.objects.get().public_id
    entry = AuditEntry.objects.get(action="response.received")
    assert (entry.actor_label, entry.via, entry.actor_token.user) == ("survey csat-chat", "api", alice.user)
    assert entry.actor_user is None

    # and staff read it back
    read = client.get(f"{URL}/{response.public_id}", **alice.headers())
    assert read.status_code == 200
    assert read.json() == body


def test_an_out_of_range_score_is_a_422_naming_the_answer(client: Client, alice, invitation):
    sent = _post(client, alice, {"token": invitation_token(invitation.public_id), "answers": {"score": 6}})

    assert sent.status_code == 422
    error = _error(sent)
    assert error["code"] == "validation_error"
    assert error["fields"] == {"answers.score": "must be between 1 and 5"}
    assert Response.objects.count() == 0


def test_a_second_answer_is_a_409_and_counts_once(client: Client, alice, invitation):
    token = invitation_token(invitation.public_id)
    assert _post(client, alice, {"token": token, "answers": {"score": 5}}).status_code == 201

    again = _post(client, alice, {"token": token, "answers": {"score": 1}})

    assert again.status_code == 409
    assert _error(again)["code"] == "already_answered"
    assert list(Response.objects.values_list("score", flat=True)) == [5]


def test_a_forged_token_is_a_404_and_an_expired_one_a_410(client: Client, alice, invitation):
    forged = _post(
        client, alice, {"token": invitation_token(invitation.public_id)[:-3] + "abc", "answers": {"score": 5}}
    )
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=clock.now() - timedelta(days=1))
    expired = _post(client, alice, {"token": invitation_token(invitation.public_id), "answers": {"score": 5}})

    assert (forged.status_code, _error(forged)["code"]) == (404, "survey_link_invalid")
    assert (expired.status_code, _error(expired)["code"]) == (410, "survey_link_expired")
    assert Response.objects.count() == 0


def test_answers_must_be_an_object(client: Client, alice, invitation):
    sent = _post(client, alice, {"token": invitation_token(invitation.public_id), "answers": [5]})

    assert sent.status_code == 422
    assert "answers" in _error(sent)["fields"]


def test_an_analyst_may_read_but_not_relay_answers(client: Client, alice, charlie, invitation):
    # when
    refused = _post(client, charlie, {"token": invitation_token(invitation.public_id), "answers": {"score": 5}})

    # then
    assert refused.status_code == 403
    assert Response.objects.count() == 0
    assert Invitation.objects.get().status == "sent"
    response = _post(client, alice, {"token": invitation_token(invitation.public_id), "answers": {"score": 5}}).json()
    assert client.get(f"{URL}/{response['id']}", **charlie.headers()).status_code == 200


def test_an_unknown_response_is_a_404(client: Client, alice, db):
    missing = client.get(f"{URL}/rsp_nothere", **alice.headers())

    assert missing.status_code == 404
    assert _error(missing)["code"] == "not_found"
