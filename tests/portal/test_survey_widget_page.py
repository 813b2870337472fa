"""The survey page as the web widget frames it (/p/widget/s/<token>/): compact, framable only by the allowed
websites, answered without a CSRF cookie (a frame on another site gets none), the answer recorded with channel
"web"; and the survey page's "Web widget" card, where an admin allows a survey and copies the snippet."""

from __future__ import annotations

import pytest
from django.test import Client

from cxloop.feedback.definitions import standard_definition
from cxloop.feedback.links import invitation_token
from cxloop.feedback.models import Invitation, Response, Survey
from cxloop.privacy.models import AuditEntry
from tests.conftest import Member
from tests.customers.factories import CustomerFactory
from tests.feedback.factories import InvitationFactory, SurveyFactory

SHOP = "https://shop.example.com"


@pytest.fixture(autouse=True)
def _widget_settings(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_SURVEY_WIDGET_SECRET = "s3cret"
    settings.CXLOOP_SURVEY_WIDGET_ORIGINS = [SHOP]


@pytest.fixture
def survey(db: None) -> Survey:
    return SurveyFactory(key="site-nps", kind="nps", definition=standard_definition("nps"), widget_enabled=True)


@pytest.fixture
def invitation(survey) -> Invitation:
    return InvitationFactory(survey=survey, customer=CustomerFactory(name="Ann Lee"), channel="web", trigger="widget")


def _path(invitation: Invitation, suffix: str = "") -> str:
    return f"/p/widget/s/{invitation_token(invitation.public_id)}/{suffix}"


def test_the_framed_page_is_compact_and_framable_only_by_allowed_websites(client: Client, invitation):
    base = _path(invitation)

    # when
    page = client.get(base)

    # then
    assert page.status_code == 200
    assert page["Content-Security-Policy"] == f"frame-ancestors 'self' http://127.0.0.1:8000 http://testserver {SHOP}"
    assert "X-Frame-Options" not in page
    assert page["Cache-Control"].startswith("max-age=0")
    html = page.content.decode()
    assert '<body class="embed">' in html
    assert 'class="skip"' not in html
    assert '<h1 class="visually-hidden">A few questions for you</h1>' in html
    assert f'data-partial-url="{base}partial/"' in html
    assert "portal/survey-embed.js" in html
    assert html.count('type="radio"') == 11


def test_the_emailed_survey_page_still_refuses_every_frame(client: Client, invitation):
    # when
    page = client.get(f"/p/s/{invitation_token(invitation.public_id)}/")

    # then
    assert page.status_code == 200
    assert page["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in page
    assert "survey-embed" not in page.content.decode()


def test_any_website_may_frame_it_when_every_origin_is_allowed(client: Client, invitation, settings):
    # given
    settings.CXLOOP_SURVEY_WIDGET_ORIGINS = ["*"]

    # when
    page = client.get(_path(invitation))

    # then
    assert page["Content-Security-Policy"] == "frame-ancestors *"


def test_the_answer_is_taken_without_a_csrf_cookie_and_recorded_as_web(invitation):
    # given: a browser that sends no cookie to a frame on another site
    browser = Client(enforce_csrf_checks=True)

    base = _path(invitation)

    # when
    partial = browser.post(base + "partial/", {"score": "4"})
    sent = browser.post(base, {"score": "3", "comment": "Too slow."})
    thanks = browser.get(base + "thanks/")

    # then
    assert partial.status_code == 200
    assert partial.json() == {"saved": ["score"], "errors": {}}
    assert sent.status_code == 302
    assert sent["Location"] == base + "thanks/"
    response = Response.objects.get()
    assert (response.invitation, response.score, response.comment, response.channel) == (
        invitation,
        3,
        "Too slow.",
        "web",
    )
    assert thanks.status_code == 200
    assert thanks["Content-Security-Policy"].startswith("frame-ancestors 'self'")
    assert '<body class="embed" data-answered>' in thanks.content.decode()


def test_a_second_answer_in_the_frame_changes_nothing(invitation):
    # given
    browser = Client(enforce_csrf_checks=True)
    browser.post(_path(invitation), {"score": "9"})

    # when
    again = browser.post(_path(invitation), {"score": "2"})

    # then
    assert again.status_code == 409
    assert Response.objects.get().score == 9


def test_the_thanks_page_before_an_answer_goes_back_to_the_framed_survey(client: Client, invitation):
    base = _path(invitation)

    # when
    page = client.get(base + "thanks/")

    # then
    assert page.status_code == 302
    assert page["Location"] == base


def test_a_forged_link_in_the_frame_is_404(client: Client, db):
    # when
    page = client.get("/p/widget/s/inv_forged:abc/")

    # then
    assert page.status_code == 404
    assert "This link does not work" in page.content.decode()


# --- the survey page's "Web widget" card ---------------------------------------------------------------------------


def test_the_card_shows_the_snippet_with_placeholders_and_never_the_secret(client: Client, survey, ada: Member):
    # given
    client.force_login(ada.user)

    # when
    page = client.get("/feedback/surveys/site-nps/")

    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert '<h2 id="widget-title">Web widget</h2>' in html
    assert "Allowed in the web widget." in html
    assert "http://testserver/p/widget/survey.js&quot; data-survey=&quot;site-nps&quot;" in html
    assert "HEX_HMAC_SHA256_OF_email:CUSTOMER_EMAIL" in html
    assert "s3cret" not in html
    assert f"<code>{SHOP}</code>" in html
    assert "Stop showing it in the widget" in html


def test_the_card_says_when_the_server_has_the_widget_off(client: Client, survey, ada: Member, settings):
    # given
    settings.CXLOOP_SURVEY_WIDGET_SECRET = ""
    client.force_login(ada.user)

    # when
    html = client.get("/feedback/surveys/site-nps/").content.decode()

    # then
    assert "The widget is off on this server" in html


def test_an_admin_allows_and_stops_the_widget_and_it_is_audited(client: Client, ada: Member, db):
    # given
    survey = SurveyFactory(key="csat", kind="csat", definition=standard_definition("csat"))
    client.force_login(ada.user)

    # when
    allowed = client.post("/feedback/surveys/csat/widget/", {"action": "allow"})
    allowed_again = client.post("/feedback/surveys/csat/widget/", {"action": "allow"})
    survey.refresh_from_db()
    was_enabled = survey.widget_enabled
    stopped = client.post("/feedback/surveys/csat/widget/", {"action": "stop"})
    survey.refresh_from_db()

    # then
    assert allowed.status_code == 302
    assert allowed["Location"] == "/feedback/surveys/csat/#widget"
    assert allowed_again.status_code == 302
    assert was_enabled is True
    assert stopped.status_code == 302
    assert survey.widget_enabled is False
    actions = list(AuditEntry.objects.filter(object_id=survey.public_id).values_list("action", flat=True))
    assert sorted(actions) == ["survey.widget_disabled", "survey.widget_enabled"]


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_agents_and_analysts_may_not_change_the_widget(client: Client, survey, who: str, request):
    # given
    member: Member = request.getfixturevalue(who)
    client.force_login(member.user)

    # when
    answer = client.post("/feedback/surveys/site-nps/widget/", {"action": "stop"})

    # then
    assert answer.status_code == 403
    survey.refresh_from_db()
    assert survey.widget_enabled is True
    assert not AuditEntry.objects.filter(action__startswith="survey.widget").exists()


def test_the_card_needs_a_login(client: Client, survey):
    # when
    answer = client.post("/feedback/surveys/site-nps/widget/", {"action": "stop"})

    # then
    assert answer.status_code == 302
    assert answer["Location"].startswith("/login")
    survey.refresh_from_db()
    assert survey.widget_enabled is True


def test_an_unknown_action_is_refused(client: Client, survey, ada: Member):
    # given
    client.force_login(ada.user)

    # when
    answer = client.post("/feedback/surveys/site-nps/widget/", {"action": "explode"})

    # then
    assert answer.status_code == 422
    survey.refresh_from_db()
    assert survey.widget_enabled is True
