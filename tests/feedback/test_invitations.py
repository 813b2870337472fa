# ruff: noqa: F811 (the messaging fixtures are imported by name)
"""Inviting customers: the message through the distribution service, fatigue, one invitation per trigger,
consent, case context, scheduling, batches and expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import pytest

from cxloop.core.errors import ConflictError, PermissionDeniedError, ValidationError
from cxloop.feedback.errors import SurveyFatigueError, SurveyNotActiveError
from cxloop.feedback.links import invitation_id_for_token
from cxloop.feedback.models import Invitation, Survey
from cxloop.feedback.services import invitations
from cxloop.feedback.services import surveys as survey_services
from cxloop.messaging import services as messaging_services
from cxloop.messaging.models import OutboundMessage
from cxloop.privacy.models import AuditEntry
from tests.cases.factories import CaseFactory, GoalFactory
from tests.messaging.conftest import _messaging_settings, ann, frozen, make_customer, received, senders  # noqa: F401

T = TypeVar("T")
NOW = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)
_capture: Any = None


@pytest.fixture(autouse=True)
def _commits(django_capture_on_commit_callbacks):
    """Messages are dispatched on commit: run what each call enqueues, as a real commit would."""
    global _capture
    _capture = django_capture_on_commit_callbacks


def run(operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with _capture(execute=True):
        return operation(*args, **kwargs)


@pytest.fixture(autouse=True)
def _settings(settings, frozen):
    settings.CXLOOP_SURVEY_FATIGUE_DAYS = 30
    frozen(NOW)


@pytest.fixture
def nps(system) -> Survey:
    survey = survey_services.create_survey(
        system, survey_services.SurveyInput(key="nps-relationship", name="Relationship NPS", kind="nps")
    )
    return survey_services.activate_survey(system, survey)


@pytest.fixture
def csat(system) -> Survey:
    survey = survey_services.create_survey(
        system, survey_services.SurveyInput(key="csat-after-case", name="CSAT after a case", kind="csat")
    )
    return survey_services.activate_survey(system, survey)


def _links(text: str) -> list[str]:
    return [word for word in text.split() if word.startswith("https://")]


def test_an_emailed_invitation_carries_one_click_score_links(senders, ann, nps, alice, received):
    # when
    invitation = run(invitations.invite, alice.actor, nps, ann, channel="email")

    # then
    invitation.refresh_from_db()
    assert invitation.status == "sent"
    assert invitation.sent_at == NOW
    assert invitation.expires_at == NOW + timedelta(days=30)
    assert invitation.survey_version == 1
    [payload] = senders["email"].sent
    assert payload.to == "ann@example.com"
    assert payload.subject == "Would you recommend us?"
    message = OutboundMessage.objects.get()
    assert invitation.message_ref == message.public_id
    assert message.purpose == "service"
    assert message.automated is False
    links = _links(payload.text)
    assert len(links) == 12  # 0..10 and the survey itself
    for score, link in enumerate(links[:11]):
        url = urlparse(link)
        assert url.netloc == "cx.example.com"
        assert parse_qs(url.query) == {"score": [str(score)]}
        assert invitation_id_for_token(url.path.rstrip("/").rsplit("/", 1)[1]) == invitation.public_id
    assert "How likely are you to recommend us" in payload.text
    assert payload.html.count("?score=") == 11
    assert 'aria-label="0 (Not at all likely)"' in payload.html
    sent = [e for e in received if e.name == "survey.sent"]
    assert [(e.invitation_id, e.survey, e.customer_id, e.channel, e.trigger) for e in sent] == [
        (invitation.public_id, "nps-relationship", ann.public_id, "email", "manual")
    ]
    assert AuditEntry.objects.filter(action="survey.sent", object_id=ann.public_id).count() == 1


@pytest.mark.parametrize(("kind", "low", "high"), [("csat", 1, 5), ("ces", 1, 7)])
def test_csat_and_ces_emails_offer_their_own_scale(senders, ann, system, alice, kind, low, high):
    survey = survey_services.create_survey(system, survey_services.SurveyInput(key=kind, name=kind, kind=kind))
    survey = survey_services.activate_survey(system, survey)

    run(invitations.invite, alice.actor, survey, ann, channel="email")

    [payload] = senders["email"].sent
    scores = [parse_qs(urlparse(link).query).get("score") for link in _links(payload.text)]
    assert scores == [[str(n)] for n in range(low, high + 1)] + [None]


def test_an_sms_invitation_is_one_short_text_with_the_link(senders, ann, csat, alice):
    invitation = run(invitations.invite, alice.actor, csat, ann, channel="sms")

    [payload] = senders["sms"].sent
    assert payload.to == "+447700900123"
    assert payload.text.startswith("How satisfied are you with the help you received? Tell us here: https://")
    [link] = _links(payload.text)
    assert "score" not in link
    assert invitation_id_for_token(urlparse(link).path.rstrip("/").rsplit("/", 1)[1]) == invitation.public_id


def test_the_invitation_uses_the_customers_language(senders, db, system, alice):
    de = make_customer("Dora Klein", email="dora@example.de", locale="de-AT")
    survey = survey_services.create_survey(system, survey_services.SurveyInput(key="nps", name="NPS", kind="nps"))
    survey_services.set_translation(
        system, survey, "de", {"questions": {"score": {"text": "Wie wahrscheinlich empfehlen Sie uns?"}}}
    )
    survey = survey_services.activate_survey(system, survey)

    invitation = run(invitations.invite, alice.actor, survey, de, channel="email")

    assert invitation.locale == "de-AT"
    assert "Wie wahrscheinlich empfehlen Sie uns?" in senders["email"].sent[0].text


def test_a_second_survey_within_the_fatigue_window_is_refused_with_the_date(senders, ann, nps, csat, alice, frozen):
    run(invitations.invite, alice.actor, nps, ann, channel="email")
    frozen(NOW + timedelta(days=29, hours=23))
    before = Invitation.objects.count()

    with pytest.raises(SurveyFatigueError) as refused:
        run(invitations.invite, alice.actor, csat, ann, channel="email")

    assert refused.value.status == 409
    assert "2030-03-04 10:00 UTC" in refused.value.message
    assert "not before 2030-04-03 10:00 UTC" in refused.value.message
    assert Invitation.objects.count() == before
    assert len(senders["email"].sent) == 1


def test_after_the_fatigue_window_the_customer_may_be_asked_again(senders, ann, nps, csat, alice, frozen):
    run(invitations.invite, alice.actor, nps, ann, channel="email")
    frozen(NOW + timedelta(days=30))

    again = run(invitations.invite, alice.actor, csat, ann, channel="email")

    assert again.status == "sent"
    assert len(senders["email"].sent) == 2


def test_the_surveys_own_fatigue_applies_when_the_overall_one_is_off(
    senders, ann, nps, csat, alice, system, settings, frozen
):
    settings.CXLOOP_SURVEY_FATIGUE_DAYS = 0
    nps = survey_services.update_survey(system, nps, survey_services.SurveyChanges(fatigue_days=90))
    run(invitations.invite, alice.actor, nps, ann, channel="email")
    frozen(NOW + timedelta(days=60))

    other = run(invitations.invite, alice.actor, csat, ann, channel="email")  # another survey: allowed
    with pytest.raises(SurveyFatigueError, match="this survey per 90 days"):
        run(invitations.invite, alice.actor, nps, ann, channel="email")

    assert other.status == "sent"


def test_a_skipped_invitation_does_not_count_for_fatigue(senders, ann, nps, csat, alice, system):
    messaging_services.suppress_address(system, "email", "ann@example.com", "manual")

    first = run(invitations.invite, alice.actor, nps, ann, channel="email")
    second = run(invitations.invite, alice.actor, csat, ann, channel="sms")

    assert first.status == "skipped"
    assert second.status == "sent"


def test_a_blocked_message_makes_the_invitation_skipped_with_the_reason(senders, ann, nps, alice, system, received):
    messaging_services.suppress_address(system, "email", "ann@example.com", "manual")

    invitation = run(invitations.invite, alice.actor, nps, ann, channel="email")

    invitation.refresh_from_db()
    assert invitation.status == "skipped"
    assert invitation.skip_reason.startswith("The message was blocked (suppressed)")
    assert invitation.sent_at is None
    assert invitation.message_ref == OutboundMessage.objects.get(status="blocked").public_id
    assert senders.all_sent() == []
    assert [e for e in received if e.name == "survey.sent"] == []


def test_a_marketing_survey_needs_marketing_consent(senders, ann, system, alice):
    survey = survey_services.create_survey(
        system, survey_services.SurveyInput(key="brand", name="Brand NPS", kind="nps", purpose="marketing")
    )
    survey = survey_services.activate_survey(system, survey)

    invitation = run(invitations.invite, alice.actor, survey, ann, channel="email")

    assert invitation.status == "skipped"
    assert "consent" in invitation.skip_reason.lower()
    assert OutboundMessage.objects.get().purpose == "marketing"
    assert senders.all_sent() == []


def test_one_invitation_per_trigger_ref(senders, ann, nps, alice, settings):
    settings.CXLOOP_SURVEY_FATIGUE_DAYS = 0
    first = run(invitations.invite, alice.actor, nps, ann, channel="email", trigger="api", trigger_ref="order:42")

    with pytest.raises(ConflictError) as refused:
        run(invitations.invite, alice.actor, nps, ann, channel="email", trigger="api", trigger_ref="order:42")
    again = run(invitations.invite, alice.actor, nps, ann, channel="email", trigger="event", trigger_ref="order:42")

    assert refused.value.code == "already_invited"
    assert again.pk == first.pk
    assert Invitation.objects.count() == 1


def test_an_invitation_for_a_case_carries_its_team_agent_and_goal(senders, ann, csat, alice, team_a):
    case = CaseFactory(customer=ann, goal=GoalFactory(key="refund"), owner=alice.user, team=team_a)

    invitation = run(invitations.invite, alice.actor, csat, ann, channel="email", case_ref=case.public_id)

    assert (invitation.case_ref, invitation.team, invitation.agent, invitation.goal_key) == (
        case.public_id,
        team_a,
        alice.user,
        "refund",
    )


def test_a_case_of_another_customer_is_refused(senders, ann, csat, alice):
    case = CaseFactory()

    with pytest.raises(ValidationError) as refused:
        run(invitations.invite, alice.actor, csat, ann, channel="email", case_ref=case.public_id)

    assert refused.value.fields == {"case_ref": "not a case of this customer"}
    assert Invitation.objects.count() == 0


def test_a_draft_survey_cannot_be_sent(senders, ann, system, alice):
    draft = survey_services.create_survey(system, survey_services.SurveyInput(key="d", name="Draft", kind="nps"))

    with pytest.raises(SurveyNotActiveError):
        run(invitations.invite, alice.actor, draft, ann, channel="email")

    assert Invitation.objects.count() == 0


def test_an_analyst_cannot_invite(senders, ann, nps, charlie):
    with pytest.raises(PermissionDeniedError):
        run(invitations.invite, charlie.actor, nps, ann, channel="email")

    assert Invitation.objects.count() == 0
    assert OutboundMessage.objects.count() == 0


def test_a_customer_without_an_address_on_the_channel_is_a_422_for_staff(senders, db, nps, alice):
    em = make_customer("Em Only", email="em@example.com")

    with pytest.raises(ValidationError) as refused:
        run(invitations.invite, alice.actor, nps, em, channel="sms")

    assert "to" in refused.value.fields
    assert Invitation.objects.count() == 0


def test_unknown_channel_is_refused_with_the_field(senders, ann, nps, alice):
    with pytest.raises(ValidationError) as refused:
        run(invitations.invite, alice.actor, nps, ann, channel="pigeon")

    assert set(refused.value.fields) == {"channel"}


def test_a_scheduled_invitation_waits_and_is_sent_by_the_periodic_task(senders, ann, nps, alice, frozen):
    invitation = run(invitations.invite, alice.actor, nps, ann, channel="email", send_at=NOW + timedelta(hours=2))
    assert invitation.status == "scheduled"

    frozen(NOW + timedelta(hours=1))
    assert run(invitations.send_due_invitations) == {"sent": 0, "skipped": 0, "failed": 0}
    frozen(NOW + timedelta(hours=2))
    assert run(invitations.send_due_invitations) == {"sent": 1, "skipped": 0, "failed": 0}
    assert run(invitations.send_due_invitations) == {"sent": 0, "skipped": 0, "failed": 0}

    invitation.refresh_from_db()
    assert invitation.status == "sent"
    assert invitation.sent_at == NOW + timedelta(hours=2)
    assert invitation.expires_at == NOW + timedelta(hours=2, days=30)
    assert len(senders["email"].sent) == 1


def test_a_scheduled_invitation_of_an_archived_survey_is_skipped(senders, ann, nps, alice, system, frozen):
    invitation = run(invitations.invite, alice.actor, nps, ann, channel="email", send_at=NOW + timedelta(hours=1))
    survey_services.archive_survey(system, nps)
    frozen(NOW + timedelta(hours=1))

    assert run(invitations.send_due_invitations) == {"sent": 0, "skipped": 1, "failed": 0}

    invitation.refresh_from_db()
    assert (invitation.status, invitation.skip_reason) == ("skipped", "The survey is archived.")
    assert senders.all_sent() == []


def test_unanswered_invitations_expire(senders, ann, nps, alice, frozen):
    invitation = run(invitations.invite, alice.actor, nps, ann, channel="email")
    frozen(NOW + timedelta(days=30))
    assert invitations.expire_invitations() == 0

    frozen(NOW + timedelta(days=30, seconds=1))
    assert invitations.expire_invitations() == 1

    invitation.refresh_from_db()
    assert invitation.status == "expired"


def test_a_batch_reports_each_customer(senders, ann, nps, alice, system):
    bo = make_customer("Bo Berg", email="bo@example.com")
    gone = make_customer("Cy Gone", email="cy@example.com")
    messaging_services.suppress_address(system, "email", "cy@example.com", "manual")
    run(invitations.invite, alice.actor, nps, ann, channel="email")

    result = run(
        invitations.invite_batch,
        alice.actor,
        nps,
        [ann.public_id, bo.public_id, gone.public_id, "cus_nobody"],
        channel="email",
    )

    outcome = [
        (item.customer_id, item.invitation.status if item.invitation else item.error.code) for item in result.items
    ]
    assert outcome == [
        (ann.public_id, "survey_fatigue"),
        (bo.public_id, "sent"),
        (gone.public_id, "skipped"),
        ("cus_nobody", "customer_not_found"),
    ]
    assert Invitation.objects.filter(trigger="api").count() == 2


def test_a_batch_must_not_repeat_a_customer(senders, ann, nps, alice):
    with pytest.raises(ValidationError) as refused:
        run(invitations.invite_batch, alice.actor, nps, [ann.public_id, ann.public_id], channel="email")

    assert refused.value.fields == {"customer_ids": "must not repeat a customer"}
