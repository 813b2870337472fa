"""Issue 5's "done when", end to end in a real Chromium over real mail servers:

an agent sends an NPS survey from the customer page; the email reaches the customer's IMAP mailbox; the customer
opens the one-click link for a 3 and writes an angry comment; a follow-up case opens with the comment, its
sentiment and its emotion, for the agent who served the customer; the agent contacts the customer and closes the
loop; the NPS chart and the verbatims page show the answer.
"""

from __future__ import annotations

import email
import email.policy
import re
from urllib.parse import urlparse

import pytest

from cxloop.cases.models import Case, Goal
from cxloop.cases.services import cases as case_services
from cxloop.cases.services import setup as setup_services
from cxloop.cases.services.cases import CaseInput
from cxloop.core.actor import Actor
from cxloop.customers import services as customer_services
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.feedback.models import Loop, Response
from cxloop.feedback.services import loop_rules as rule_services
from cxloop.feedback.services import surveys as survey_services
from tests.mailserver import mail_server

pytestmark = pytest.mark.browser

ANGRY = "I waited three weeks for my refund and nobody called me back. This is outrageous, I am furious!"


@pytest.fixture
def isp(settings, live_server):  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CXLOOP_QUIET_HOURS = "off"
    settings.CXLOOP_BASE_URL = live_server.url
    with mail_server(["ann"]) as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.smtp_port
        settings.CXLOOP_EMAIL_FROM = "Fernhill care <care@shop.test>"
        yield server


@pytest.fixture
def configured(db: None) -> None:
    """The live server's tests flush the database, shipped rows with it: put back the goal and the detractor rule
    that a fresh install has."""
    system = Actor.system("test")
    if not Goal.objects.filter(key="care").exists():
        setup_services.create_goal(system, key="care", name="Care")
    rule_services.create_rule(
        system,
        rule_services.RuleInput(
            name="NPS detractor", conditions={"kinds": ["nps"], "score_at_most": 6}, priority="high"
        ),
    )


def test_an_angry_detractor_is_followed_up_and_the_answer_shows_in_the_analytics(  # type: ignore[no-untyped-def]
    page, login_as, alice, isp, configured
):
    system = Actor.system("test")
    ann = customer_services.create_customer(
        system, CustomerInput(name="Ann Lee", identities=[IdentityInput(kind="email", value="ann@example.org")])
    )
    survey = survey_services.create_survey(
        system, survey_services.SurveyInput(key="relationship", name="Relationship NPS", kind="nps")
    )
    survey_services.activate_survey(system, survey)
    served = case_services.open_case(
        alice.actor, CaseInput(customer=ann, subject="Refund of order 1182", owner=alice.user)
    )

    # alice, who worked Ann's refund case, sends the survey about it from Ann's customer page
    login_as(alice)
    page.goto(f"/customers/{ann.public_id}/")
    page.get_by_text("Send a survey").click()
    page.get_by_label("Survey", exact=True).select_option("relationship")
    page.get_by_label("About case").fill(served.public_id)
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_text("Relationship NPS").first.wait_for()

    # the email arrives in Ann's mailbox with one link per score; she opens the one for 3
    [raw] = isp.wait_for_messages("ann", 1)
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    text = mail.get_body(("plain",)).get_content()
    [link] = [url for url in re.findall(r"https?://\S+", text) if url.endswith("score=3")]
    url = urlparse(link)
    page.context.clear_cookies()  # Ann is not logged in
    page.goto(f"{url.path}?{url.query}")
    assert page.get_by_label("3", exact=True).is_checked()
    page.get_by_label("What is the main reason for your score?").fill(ANGRY)
    page.get_by_role("button", name=re.compile("Send|Submit")).click()
    page.get_by_text(re.compile("Thank you", re.IGNORECASE)).first.wait_for()

    response = Response.objects.get()
    assert (response.score, response.comment) == (3, ANGRY)
    assert response.sentiment is not None
    assert response.sentiment < -0.5
    assert response.emotion == "anger"

    # a follow-up case opened for alice, who served Ann, with the comment, its sentiment and its emotion
    loop = Loop.objects.get()
    case = Case.objects.get(public_id=loop.case_ref)
    assert case != served
    assert case.owner == alice.user
    assert case.priority == "high"
    login_as(alice)
    page.goto(f"/cases/{case.public_id}/")
    panel = page.locator("#follow-up")
    panel.get_by_text(ANGRY).wait_for()
    assert "anger" in panel.inner_text()
    assert "negative" in panel.inner_text()

    # alice calls Ann back and closes the loop
    panel.get_by_role("button", name="Customer contacted").click()
    page.locator("#follow-up .loop-state-contacted").wait_for()
    panel = page.locator("#follow-up")
    panel.get_by_role("radio", name="Recovered: the customer is satisfied now").check()
    panel.get_by_role("button", name="Close the loop").click()
    page.locator("#follow-up .loop-state-resolved").wait_for()
    loop.refresh_from_db()
    assert (loop.state, loop.outcome, loop.closed_by) == ("resolved", "recovered", alice.user)

    # the NPS chart counts the answer (one detractor: NPS −100) and the verbatims page shows it
    page.goto("/feedback/")
    chart = page.locator("#nps-trend-title").locator("xpath=ancestor::section")
    chart.locator("svg").first.wait_for()
    assert "-100" in chart.inner_text() or "−100" in chart.inner_text()
    page.goto("/feedback/verbatims/?emotion=anger")
    page.get_by_text(ANGRY).wait_for()
