"""Survey invitations, answers and follow-up loops follow their customer through a merge, come back on unmerge,
and are in the personal-data export."""

from __future__ import annotations

import pytest

from cxloop.core.actor import Actor
from cxloop.customers.services import export as export_services
from cxloop.customers.services import merging
from cxloop.feedback.models import Invitation, Loop, Response
from cxloop.feedback.services import loops
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, ResponseFactory, SurveyFactory
from tests.feedback.loop_helpers import answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(db):  # type: ignore[no-untyped-def]
    return CustomerFactory(name="Ann Lee"), CustomerFactory(name="Ann Lee (old profile)")


def test_a_merge_moves_invitations_answers_and_loops_and_an_unmerge_moves_them_back(pair, alice, bob):  # type: ignore[no-untyped-def]
    target, source = pair
    kept = answer(target, score=9)
    moved = answer(source, score=2, comment="Still broken", sentiment=-0.6, emotion="anger", agent=alice.user)
    loop = loops.open_loop(Actor.system("test"), moved)
    unanswered = InvitationFactory(customer=source, survey=moved.survey)

    merge = merging.merge_customers(bob.actor, target, source)

    assert set(Invitation.objects.filter(customer=target).values_list("pk", flat=True)) == {
        kept.invitation_id,
        moved.invitation_id,
        unanswered.pk,
    }
    assert set(Response.objects.filter(customer=target).values_list("pk", flat=True)) == {kept.pk, moved.pk}
    assert Loop.objects.get(pk=loop.pk).customer_id == target.pk
    assert sorted(merge.moved["survey_invitations"]) == sorted([moved.invitation_id, unanswered.pk])
    assert merge.moved["survey_responses"] == [moved.pk]
    assert merge.moved["feedback_loops"] == [loop.pk]

    merging.unmerge(bob.actor, merge)

    assert list(Invitation.objects.filter(customer=target).values_list("pk", flat=True)) == [kept.invitation_id]
    assert list(Response.objects.filter(customer=target).values_list("pk", flat=True)) == [kept.pk]
    assert Loop.objects.get(pk=loop.pk).customer_id == source.pk
    assert Invitation.objects.get(pk=unanswered.pk).customer_id == source.pk


def test_an_invitation_both_profiles_had_for_one_trigger_stays_with_its_profile(pair, bob):  # type: ignore[no-untyped-def]
    target, source = pair
    survey = SurveyFactory(key="after-case")
    InvitationFactory(customer=target, survey=survey, trigger="event", trigger_ref="case:cas_1")
    twin = InvitationFactory(customer=source, survey=survey, trigger="event", trigger_ref="case:cas_1")
    twin_answer = ResponseFactory(invitation=twin, score=4)
    other = InvitationFactory(customer=source, survey=survey, trigger="event", trigger_ref="case:cas_2")

    merge = merging.merge_customers(bob.actor, target, source)

    assert Invitation.objects.get(pk=twin.pk).customer_id == source.pk
    assert Response.objects.get(pk=twin_answer.pk).customer_id == source.pk
    assert Invitation.objects.get(pk=other.pk).customer_id == target.pk
    merging.unmerge(bob.actor, merge)
    assert Invitation.objects.get(pk=twin.pk).customer_id == source.pk
    assert Invitation.objects.get(pk=other.pk).customer_id == source.pk


def test_the_personal_data_export_has_the_surveys_answers_and_follow_ups(pair, alice, bob):  # type: ignore[no-untyped-def]
    customer, _ = pair
    response = answer(customer, score=1, comment="Never again", sentiment=-0.7, emotion="anger", agent=alice.user)
    loop = loops.open_loop(Actor.system("test"), response)
    loops.close_loop(alice.actor, loop, outcome="not_recovered", note="Closed her account")

    document = export_services.export_customer(bob.actor, customer)

    assert [i["id"] for i in document["survey_invitations"]] == [response.invitation.public_id]
    assert document["survey_responses"] == [
        {
            "id": response.public_id,
            "survey": "NPS after a case",
            "kind": "nps",
            "score": 1,
            "comment": "Never again",
            "answers": {},
            "submitted_at": response.submitted_at.isoformat(),
            "sentiment": -0.7,
            "sentiment_label": "negative",
            "emotion": "anger",
            "key_phrases": [],
        }
    ]
    [exported] = document["feedback_loops"]
    assert (exported["id"], exported["case"], exported["state"], exported["outcome"], exported["outcome_note"]) == (
        loop.public_id,
        loop.case_ref,
        "resolved",
        "not_recovered",
        "Closed her account",
    )
