"""An emailed NPS invitation over real servers: the API invites, the distribution service sends through SMTP, and
the customer's IMAP mailbox holds a text and an HTML part whose eleven score links open this invitation."""

from __future__ import annotations

import email
import email.policy
import re
from urllib.parse import parse_qs, urlparse

import pytest

from cxloop.core.actor import Actor
from cxloop.customers import services as customer_services
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.feedback.links import invitation_id_for_token
from cxloop.feedback.models import Invitation
from cxloop.feedback.services import surveys as survey_services
from cxloop.messaging.models import OutboundMessage
from tests.mailserver import mail_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def isp(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.CXLOOP_QUIET_HOURS = "off"
    settings.CXLOOP_BASE_URL = "https://cx.example.com"
    with mail_server(["ann"]) as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.smtp_port
        settings.CXLOOP_EMAIL_FROM = "Fernhill care <care@shop.test>"
        yield server


def test_an_emailed_invitation_arrives_with_its_one_click_links(isp, api, alice):
    system = Actor.system("test")
    customer = customer_services.create_customer(
        system, CustomerInput(name="Ann Lee", identities=[IdentityInput(kind="email", value="ann@example.org")])
    )
    survey = survey_services.create_survey(system, survey_services.SurveyInput(key="nps", name="NPS", kind="nps"))
    survey_services.activate_survey(system, survey)

    response = api.post("/surveys/nps/invitations", alice, {"customer": customer.public_id, "channel": "email"})

    assert response.status_code == 201, response.content
    invitation = Invitation.objects.get()
    assert invitation.status == "sent"
    assert OutboundMessage.objects.get(public_id=invitation.message_ref).status == "sent"
    [raw] = isp.wait_for_messages("ann", 1)
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"] == "Would you recommend us?"
    assert mail["To"] == "ann@example.org"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    text_links = re.findall(r"https://\S+", text)
    html_links = re.findall(r'href="([^"]+)"', html)
    assert len(text_links) == 12
    assert [link.replace("&amp;", "&") for link in html_links] == text_links
    for score, link in enumerate(text_links[:11]):
        url = urlparse(link)
        assert parse_qs(url.query) == {"score": [str(score)]}
        token = url.path.rstrip("/").rsplit("/", 1)[1]
        assert invitation_id_for_token(token) == invitation.public_id
    assert "How likely are you to recommend us to a friend or colleague?" in text
