"""POST /hooks/twilio/sms and /hooks/twilio/status: signature first, then the pipeline, then empty TwiML."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from cxloop.channels.models import InboundMessage, InboundStatus
from cxloop.customers.models import Identity
from cxloop.events import bus
from cxloop.interactions.models import Interaction
from tests.channels.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, inbound_params, twilio_signature

pytestmark = pytest.mark.django_db(transaction=True)
INBOUND_URL = "http://testserver/hooks/twilio/sms"
STATUS_URL = "http://testserver/hooks/twilio/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@pytest.fixture(autouse=True)
def _twilio(settings):
    settings.CXLOOP_TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.CXLOOP_TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.CXLOOP_PUBLIC_URL = ""


@pytest.fixture
def events():
    seen: list[bus.DomainEvent] = []
    bus.subscribe("*", seen.append)
    yield seen
    bus.unsubscribe("*", seen.append)


def post(client, url: str, params: dict[str, str], *, signature: str | None = None, token: str = AUTH_TOKEN):
    sig = twilio_signature(token, url, params) if signature is None else signature
    headers = {"X-Twilio-Signature": sig} if sig else {}
    return client.post(url, data=urlencode(params), content_type="application/x-www-form-urlencoded", headers=headers)


def sms_form(body: str = "Where is my parcel?", sender: str = "+447700900123") -> dict[str, str]:
    return inbound_params(sender, body)


def test_signed_inbound_sms_is_recorded_and_answered_with_empty_twiml(client, events):
    params = sms_form()

    response = post(client, INBOUND_URL, params)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode() == EMPTY_TWIML
    inbound = InboundMessage.objects.get()
    assert inbound.status == InboundStatus.PROCESSED
    assert inbound.source == "webhook:twilio"
    assert inbound.meta["url"] == INBOUND_URL
    assert inbound.meta["headers"]["X-Twilio-Signature"] == twilio_signature(AUTH_TOKEN, INBOUND_URL, params)
    interaction = Interaction.objects.get()
    assert (interaction.channel, interaction.direction, interaction.body) == ("sms", "inbound", "Where is my parcel?")
    assert interaction.external_id == params["MessageSid"]
    assert Identity.objects.get(customer=interaction.customer).value == "+447700900123"
    assert [e.name for e in events if e.name == "message.received"] == ["message.received"]


@pytest.mark.parametrize(
    ("signature", "token", "reason"),
    [
        ("", AUTH_TOKEN, "Missing X-Twilio-Signature"),
        ("bm90IGEgc2lnbmF0dXJl", AUTH_TOKEN, "Invalid X-Twilio-Signature"),
        (None, "some-other-token", "Invalid X-Twilio-Signature"),
    ],
)
def test_unsigned_or_forged_requests_are_refused_and_nothing_is_kept(client, events, signature, token, reason):
    response = post(client, INBOUND_URL, sms_form(), signature=signature, token=token)

    assert response.status_code == 403
    assert reason in response.content.decode()
    assert InboundMessage.objects.count() == 0
    assert Interaction.objects.count() == 0
    assert events == []


def test_a_signature_for_another_url_is_refused(client):
    params = sms_form()

    response = post(client, INBOUND_URL, params, signature=twilio_signature(AUTH_TOKEN, STATUS_URL, params))

    assert response.status_code == 403
    assert InboundMessage.objects.count() == 0


def test_tampered_body_is_refused(client):
    params = sms_form()
    signature = twilio_signature(AUTH_TOKEN, INBOUND_URL, params)

    response = post(client, INBOUND_URL, {**params, "Body": "Send me a refund"}, signature=signature)

    assert response.status_code == 403
    assert InboundMessage.objects.count() == 0


def test_public_url_is_what_the_signature_covers(client, settings):
    # Behind a proxy Django sees http://testserver; Twilio signed the public https URL.
    settings.CXLOOP_PUBLIC_URL = "https://cx.example.com"
    params = sms_form()

    signed_publicly = post(
        client,
        INBOUND_URL,
        params,
        signature=twilio_signature(AUTH_TOKEN, "https://cx.example.com/hooks/twilio/sms", params),
    )
    signed_internally = post(client, INBOUND_URL, params, signature=twilio_signature(AUTH_TOKEN, INBOUND_URL, params))

    assert signed_publicly.status_code == 200
    assert signed_internally.status_code == 403


def test_unparseable_signed_payload_is_kept_in_quarantine_and_answered_200(client):
    params = {"AccountSid": ACCOUNT_SID, "MessageSid": "SM1", "To": OUR_NUMBER, "Body": "no sender"}

    response = post(client, INBOUND_URL, params)

    assert response.status_code == 200
    inbound = InboundMessage.objects.get()
    assert inbound.status == InboundStatus.QUARANTINED
    assert "has no From" in inbound.reason
    assert Interaction.objects.count() == 0


def test_status_callback_reports_delivery(client, events):
    params = {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": "SM" + "9" * 32,
        "MessageStatus": "delivered",
        "SmsStatus": "delivered",
        "From": OUR_NUMBER,
        "To": "+447700900123",
        "ApiVersion": "2010-04-01",
    }

    response = post(client, STATUS_URL, params)

    assert response.status_code == 200
    [reported] = [e for e in events if e.name == "delivery.status_reported"]
    assert (reported.channel, reported.provider_message_id, reported.state) == ("sms", "SM" + "9" * 32, "delivered")
    assert InboundMessage.objects.get().status == InboundStatus.PROCESSED


def test_not_configured_answers_503(client, settings):
    settings.CXLOOP_TWILIO_AUTH_TOKEN = ""

    response = post(client, INBOUND_URL, sms_form())

    assert response.status_code == 503
    assert "CXLOOP_TWILIO_AUTH_TOKEN" in response.content.decode()
    assert InboundMessage.objects.count() == 0


def test_get_is_not_allowed(client):
    assert client.get("/hooks/twilio/sms").status_code == 405


def test_stop_reply_is_flagged_as_an_opt_out(client, events):
    post(client, INBOUND_URL, sms_form("Stop"))

    [received] = [e for e in events if e.name == "message.received"]
    assert (received.channel, received.address, received.keyword) == ("sms", "+447700900123", "opt_out")
