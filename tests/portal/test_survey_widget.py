"""The survey web widget's endpoint /p/widget/invitations: a website vouches for its visitor with a signature,
cxloop answers with the survey to frame (or 204: nothing to ask), only for allowed websites, rate-limited."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from cxloop.channels.webchat import services as chat_services
from cxloop.core import clock
from cxloop.customers.models import Customer, Identity
from cxloop.events import bus
from cxloop.feedback.definitions import standard_definition
from cxloop.feedback.links import invitation_id_for_token
from cxloop.feedback.models import Invitation, Survey
from cxloop.messaging.services import consent as consent_services
from cxloop.messaging.types import ConsentChange
from cxloop.portal.survey_widget import sign
from cxloop.privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory
from tests.feedback.factories import InvitationFactory, SurveyFactory

SECRET = "widget-secret-for-tests"
SHOP = "https://shop.example.com"
URL = "/p/widget/invitations"


@pytest.fixture(autouse=True)
def _widget_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_SURVEY_WIDGET_SECRET = SECRET
    settings.CXLOOP_SURVEY_WIDGET_ORIGINS = [SHOP]
    settings.CXLOOP_CHAT_ALLOWED_ORIGINS = []
    settings.CXLOOP_SURVEY_WIDGET_PER_MINUTE = 100
    settings.CXLOOP_SURVEY_FATIGUE_DAYS = 30


@pytest.fixture
def received() -> Any:
    events: list[bus.DomainEvent] = []
    bus.subscribe("*", events.append)
    yield events
    bus.unsubscribe("*", events.append)


@pytest.fixture
def survey(db: None) -> Survey:
    return SurveyFactory(
        key="site-nps", kind="nps", definition=standard_definition("nps"), widget_enabled=True, link_valid_days=14
    )


def body(customer: str = "ann@example.com", *, kind: str = "email", survey: str = "site-nps", **extra: str) -> str:
    data = {"survey": survey, "customer": customer, "kind": kind, "signature": sign(kind, customer, SECRET)}
    return json.dumps({**data, "page_url": f"{SHOP}/account", **extra})


def post(client: Client, data: str, *, origin: str = SHOP, **headers: str) -> Any:
    return client.post(URL, data, content_type="application/json", HTTP_ORIGIN=origin, **headers)


def test_a_signed_customer_gets_the_survey_to_frame_and_it_counts_as_sent(
    client: Client, survey, received, django_capture_on_commit_callbacks
):
    # when: a website shows a page to Ann, whom cxloop did not know yet
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(client, body())

    # then
    assert answer.status_code == 200
    assert answer["Access-Control-Allow-Origin"] == SHOP
    assert answer["Cache-Control"] == "no-store"
    data = answer.json()
    invitation = Invitation.objects.get()
    assert data["invitation"] == invitation.public_id
    assert data["title"] == "A few questions for you"  # the standard NPS has no title of its own
    assert data["locale"] == "en"
    assert data["url"].startswith("http://testserver/p/widget/s/")
    assert invitation_id_for_token(data["url"].rstrip("/").rsplit("/", 1)[1]) == invitation.public_id
    ann = Customer.objects.get()
    assert Identity.objects.get(customer=ann).value == "ann@example.com"
    assert (invitation.customer, invitation.channel, invitation.trigger, invitation.status) == (
        ann,
        "web",
        "widget",
        "sent",
    )
    assert invitation.sent_at is not None
    assert abs((invitation.sent_at - clock.now()).total_seconds()) < 60
    assert invitation.expires_at - invitation.sent_at == timedelta(days=14)
    assert data["expires_at"] == invitation.expires_at.isoformat()
    sent = [e for e in received if e.name == "survey.sent"]
    assert [(e.invitation_id, e.survey, e.customer_id, e.channel, e.trigger) for e in sent] == [
        (invitation.public_id, "site-nps", ann.public_id, "web", "widget")
    ]
    audit = AuditEntry.objects.get(action="survey.sent")
    assert audit.object_id == ann.public_id
    assert f"web widget on {SHOP}/account" in audit.summary
    assert audit.actor_label == "survey_widget"


def test_a_second_page_view_shows_the_same_invitation(
    client: Client, survey, received, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, body()).json()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        second = post(client, body(page_url=f"{SHOP}/orders"))

    # then
    assert second.status_code == 200
    assert second.json()["invitation"] == first["invitation"]
    assert Invitation.objects.count() == 1
    assert AuditEntry.objects.filter(action="survey.sent").count() == 1
    assert len([e for e in received if e.name == "survey.sent"]) == 1


def test_an_external_id_is_signed_with_its_kind_and_system(client: Client, survey):
    # given
    signed = json.loads(body("crm-4711", kind="external"))
    other_system = {**signed, "network": "crm", "signature": sign("external", "crm-4711", SECRET)}

    # when
    answer = post(client, json.dumps(signed))
    refused = post(client, json.dumps(other_system))
    crm = {**other_system, "signature": sign("external", "crm-4711", SECRET, network="crm")}
    accepted = post(client, json.dumps(crm))

    # then
    assert answer.status_code == 200
    identity = Identity.objects.get(network="website")
    assert (identity.kind, identity.value) == ("external", "crm-4711")
    assert refused.status_code == 403
    assert 'sign "external:crm:<value>"' in refused.json()["error"]["message"]
    assert accepted.status_code == 200
    assert Identity.objects.filter(kind="external", network="crm", value="crm-4711").count() == 1


@pytest.mark.parametrize(
    "signature",
    [
        "0" * 64,
        sign("email", "bob@example.com", SECRET),  # another customer's
        sign("external", "ann@example.com", SECRET),  # the same value, another kind
        sign("email", "ann@example.com", "another-secret"),
        "",
    ],
)
def test_a_bad_signature_is_refused_and_creates_nothing(client: Client, survey, signature: str):
    # given
    data = json.loads(body())
    data["signature"] = signature

    # when
    answer = post(client, json.dumps(data))

    # then
    if signature:
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "invalid_signature"
        assert "CXLOOP_SURVEY_WIDGET_SECRET" in answer.json()["error"]["message"]
    else:
        assert answer.status_code == 422
        assert answer.json()["error"]["fields"] == {"signature": "must be a non-empty string"}
    assert answer["Access-Control-Allow-Origin"] == SHOP  # the page's script can read why
    assert Customer.objects.count() == 0
    assert Invitation.objects.count() == 0
    assert AuditEntry.objects.count() == 0


@pytest.mark.parametrize("case", ["unknown", "not_allowed", "draft", "archived"])
def test_a_survey_the_widget_may_not_show_is_404_and_creates_nothing(client: Client, survey, case: str):
    # given
    key = "site-nps"
    if case == "unknown":
        key = "no-such-survey"
    elif case == "not_allowed":
        Survey.objects.filter(pk=survey.pk).update(widget_enabled=False)
    else:
        Survey.objects.filter(pk=survey.pk).update(status=case)

    # when
    answer = post(client, body(survey=key))

    # then
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "survey_not_in_widget"
    assert Customer.objects.count() == 0
    assert Invitation.objects.count() == 0


def test_a_customer_surveyed_recently_gets_nothing_and_no_row(client: Client, survey):
    # given: Ann got an email survey ten days ago (at most one survey per 30 days)
    ann = CustomerFactory(name="Ann")
    IdentityFactory(customer=ann, value="ann@example.com")
    InvitationFactory(customer=ann, sent_at=clock.now() - timedelta(days=10))

    # when
    answer = post(client, body())

    # then
    assert answer.status_code == 204
    assert answer.content == b""
    assert Invitation.objects.count() == 1
    assert AuditEntry.objects.filter(action__startswith="survey.").count() == 0


def test_a_customer_who_answered_is_not_asked_again_even_without_fatigue_limits(client: Client, survey, settings):
    # given: no fatigue limits at all, and Ann answered the widget yesterday
    settings.CXLOOP_SURVEY_FATIGUE_DAYS = 0
    first = post(client, body()).json()
    Invitation.objects.filter(public_id=first["invitation"]).update(
        status="answered", sent_at=clock.now() - timedelta(days=1)
    )

    # when
    answer = post(client, body())

    # then
    assert answer.status_code == 204
    assert Invitation.objects.count() == 1


def test_a_customer_who_objected_on_every_channel_is_not_asked(client: Client, survey, system):
    # given: a relationship survey (marketing), and Ann withdrew marketing on every channel
    Survey.objects.filter(pk=survey.pk).update(purpose="marketing")
    ann = CustomerFactory(name="Ann")
    IdentityFactory(customer=ann, value="ann@example.com")
    consent_services.record_consents(
        system, ann, [ConsentChange(channel="*", purpose="marketing", granted=False)], source="preference_centre"
    )

    # when
    answer = post(client, body())

    # then
    assert answer.status_code == 204
    assert Invitation.objects.count() == 0


def test_an_expired_widget_invitation_gives_way_to_a_new_one(client: Client, survey, settings):
    # given
    settings.CXLOOP_SURVEY_FATIGUE_DAYS = 0
    first = post(client, body()).json()
    Invitation.objects.filter(public_id=first["invitation"]).update(
        sent_at=clock.now() - timedelta(days=20), expires_at=clock.now() - timedelta(days=6)
    )

    # when
    answer = post(client, body())

    # then
    assert answer.status_code == 200
    assert answer.json()["invitation"] != first["invitation"]
    assert Invitation.objects.count() == 2


def test_only_allowed_websites_may_call(client: Client, survey):
    # when
    refused = post(client, body(), origin="https://evil.example.net")
    preflight = client.options(URL, HTTP_ORIGIN=SHOP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    foreign_preflight = client.options(URL, HTTP_ORIGIN="https://evil.example.net")

    # then
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in refused
    assert Customer.objects.count() == 0
    assert Invitation.objects.count() == 0
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == SHOP
    assert preflight["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert preflight["Access-Control-Allow-Headers"] == "Content-Type"
    assert foreign_preflight.status_code == 403


def test_the_chat_allowed_origins_count_when_the_widget_has_none_of_its_own(client: Client, survey, settings):
    # given
    settings.CXLOOP_SURVEY_WIDGET_ORIGINS = []
    settings.CXLOOP_CHAT_ALLOWED_ORIGINS = ["https://chat-site.example.org"]

    # when
    allowed = post(client, body(), origin="https://chat-site.example.org")
    refused = post(client, body(), origin=SHOP)

    # then
    assert allowed.status_code == 200
    assert refused.status_code == 403


def test_requests_are_rate_limited_per_client_address(client: Client, survey, settings):
    # given
    settings.CXLOOP_SURVEY_WIDGET_PER_MINUTE = 2

    # when
    answers = [post(client, body()) for _ in range(3)]
    other_address = post(client, body(), REMOTE_ADDR="10.1.2.3")

    # then
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(answers[2]["Retry-After"]) <= 60
    assert other_address.status_code == 200


def test_the_widget_is_off_without_a_secret(client: Client, survey, settings):
    # given
    settings.CXLOOP_SURVEY_WIDGET_SECRET = ""

    # when
    answer = post(client, body())

    # then
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "survey_widget_off"
    assert Invitation.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ("not json", {"body": "must be a JSON object"}),
        ("[1]", {"body": "must be a JSON object"}),
        ('{"survey": ' + "[" * 4000 + "]" * 4000 + "}", {"body": "must be a JSON object"}),  # past the parser's depth
        ('{"survey": "site-nps\\u0000"}', {"body": "must not contain NUL characters"}),
        (
            json.dumps({"survey": "site-nps", "customer": "x", "signature": "y", "kind": "phone"}),
            {"kind": "must be one of email, external, chat"},
        ),
        (
            json.dumps({"survey": "", "customer": "x" * 300, "signature": "y"}),
            {"survey": "must be a non-empty string", "customer": "at most 254 characters"},
        ),
    ],
)
def test_bad_requests_say_which_field(client: Client, survey, raw: str, fields: dict[str, str]):
    # when
    answer = post(client, raw)

    # then
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"] == fields
    assert Invitation.objects.count() == 0


def test_only_post_is_allowed(client: Client, survey):
    # when
    answer = client.get(URL, HTTP_ORIGIN=SHOP)

    # then
    assert answer.status_code == 405
    assert answer["Allow"] == "POST, OPTIONS"


def test_a_visitor_who_chatted_is_asked_as_the_chats_customer(client: Client, survey):
    # given: an anonymous visitor's chat, resolved to a customer by their first line
    started = chat_services.start_session(origin=SHOP)
    chat_services.post_visitor_message(started.session, "Hello, where is my parcel?")
    chat_customer = chat_services.find_session(started.session.public_id).customer
    assert chat_customer is not None
    data = {"survey": "site-nps", "customer": started.session.public_id, "kind": "chat"}

    # when
    asked = post(client, json.dumps({**data, "signature": started.token}))
    forged = post(client, json.dumps({**data, "signature": "not-the-token"}))

    # then
    assert asked.status_code == 200
    assert Invitation.objects.get().customer == chat_customer
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "invalid_signature"
    assert Invitation.objects.count() == 1


def test_a_chat_without_a_customer_yet_gets_nothing(client: Client, survey):
    # given: the visitor opened the chat but wrote nothing
    started = chat_services.start_session(origin=SHOP)
    data = {"survey": "site-nps", "customer": started.session.public_id, "kind": "chat", "signature": started.token}

    # when
    answer = post(client, json.dumps(data))

    # then
    assert answer.status_code == 204
    assert Invitation.objects.count() == 0


def test_the_script_is_served_for_any_site_and_revalidated(client: Client):
    # when
    first = client.get("/p/widget/survey.js")
    again = client.get("/p/widget/survey.js", HTTP_IF_NONE_MATCH=first["ETag"])

    # then
    assert first.status_code == 200
    assert first["Content-Type"] == "text/javascript; charset=utf-8"
    assert first["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert b"data-signature" in first.content
    assert again.status_code == 304
