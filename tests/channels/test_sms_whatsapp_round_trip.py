"""The round trip through real HTTP on loopback, both ways, for SMS (Twilio) and WhatsApp (Cloud API).

A fake provider posts a signed inbound message to the live server; it lands on the customer it belongs
to; an agent answers through the distribution service, whose send reaches the fake provider; the
provider's signed status callback comes back and marks the message delivered.
"""

from __future__ import annotations

import pytest

from cxloop.channels import registry
from cxloop.channels.sms.config import TwilioConfig
from cxloop.channels.sms.sender import TwilioSender
from cxloop.channels.whatsapp.config import WhatsAppConfig
from cxloop.channels.whatsapp.sender import WhatsAppSender
from cxloop.customers import services as customer_services
from cxloop.customers.types import CustomerInput, IdentityInput
from cxloop.interactions.models import Interaction
from cxloop.messaging import services as messaging_services
from cxloop.messaging.types import SendRequest
from tests.channels.fakes import meta as fake_meta
from tests.channels.fakes import twilio as fake_twilio

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+447700900123"


@pytest.fixture
def grace(ada):
    customer = customer_services.create_customer(
        ada.actor,
        CustomerInput(
            name="Grace Hopper",
            country="GB",
            identities=[IdentityInput(kind="phone", value=PHONE), IdentityInput(kind="whatsapp", value=PHONE[1:])],
        ),
    )
    return customer


@pytest.fixture
def twilio(settings, live_server, monkeypatch):
    with fake_twilio.FakeTwilio() as fake:
        settings.CXLOOP_PUBLIC_URL = live_server.url
        settings.CXLOOP_TWILIO_ACCOUNT_SID = fake.account_sid
        settings.CXLOOP_TWILIO_AUTH_TOKEN = fake.auth_token
        settings.CXLOOP_TWILIO_FROM = fake_twilio.OUR_NUMBER
        settings.CXLOOP_TWILIO_API_BASE = fake.base_url
        monkeypatch.setitem(registry._senders, "sms", TwilioSender(TwilioConfig.from_settings()))
        yield fake


@pytest.fixture
def meta(settings, monkeypatch):
    with fake_meta.FakeMeta() as fake:
        settings.CXLOOP_WHATSAPP_TOKEN = fake.token
        settings.CXLOOP_WHATSAPP_APP_SECRET = fake.app_secret
        settings.CXLOOP_WHATSAPP_PHONE_NUMBER_ID = fake.phone_number_id
        settings.CXLOOP_WHATSAPP_API_BASE = fake.api_base
        monkeypatch.setitem(registry._senders, "whatsapp", WhatsAppSender(WhatsAppConfig.from_settings()))
        yield fake


def reply(agent, customer, thread, channel: str, text: str):
    message = messaging_services.send_message(
        agent.actor, SendRequest(customer_id=customer.public_id, channel=channel, text=text, thread_id=thread.public_id)
    )
    assert message.status == "queued", message.reason
    messaging_services.dispatch(message.pk)
    message.refresh_from_db()
    return message


def test_sms_round_trip(live_server, twilio, grace, alice):
    # Given a customer texting our Twilio number
    response = twilio.post_inbound(f"{live_server.url}/hooks/twilio/sms", PHONE, "Where is my parcel?")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    inbound = Interaction.objects.get(channel="sms", direction="inbound")
    assert inbound.customer_id == grace.pk
    assert inbound.body == "Where is my parcel?"

    # When the agent answers on the same thread
    message = reply(alice, grace, inbound.thread, "sms", "It ships today.")

    # Then Twilio got the message with our status callback
    [(sid, form)] = twilio.messages.items()
    assert form["To"] == PHONE
    assert form["From"] == fake_twilio.OUR_NUMBER
    assert form["Body"] == "It ships today."
    assert form["StatusCallback"] == f"{live_server.url}/hooks/twilio/status"
    assert (message.status, message.provider_message_id) == ("sent", sid)

    # And Twilio's delivery report marks it delivered
    assert twilio.report(sid, "sent").status_code == 200
    assert twilio.report(sid, "delivered").status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"


def test_sms_carrier_failure_is_reported(live_server, twilio, grace, alice):
    twilio.post_inbound(f"{live_server.url}/hooks/twilio/sms", PHONE, "Hello?")
    inbound = Interaction.objects.get(channel="sms", direction="inbound")
    message = reply(alice, grace, inbound.thread, "sms", "Hello Grace")
    [sid] = twilio.messages

    response = twilio.report(sid, "undelivered", error_code="30003")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "failed"


def test_whatsapp_round_trip(live_server, meta, grace, alice):
    webhook = f"{live_server.url}/hooks/whatsapp"

    # Given a customer writing to our WhatsApp number
    response = meta.post_text(webhook, PHONE[1:], "Grace H.", "Is the blue one back in stock?")

    assert response.status_code == 200
    inbound = Interaction.objects.get(channel="whatsapp", direction="inbound")
    assert inbound.customer_id == grace.pk

    # When the agent answers on the same thread
    message = reply(alice, grace, inbound.thread, "whatsapp", "Yes, since this morning.")

    # Then the Cloud API got a text in reply to the customer's message
    [(message_id, body)] = meta.sent.items()
    assert body["to"] == PHONE[1:]
    assert body["text"] == {"body": "Yes, since this morning.", "preview_url": False}
    assert body["context"] == {"message_id": inbound.external_id}
    assert (message.status, message.provider_message_id) == ("sent", message_id)

    # And Meta's status webhooks mark it delivered, then read
    assert meta.report(webhook, message_id, "delivered").status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert meta.report(webhook, message_id, "read").status_code == 200
    message.refresh_from_db()
    assert message.status == "read"

    # And the customer's answer to our message threads onto the same conversation
    meta.post_text(webhook, PHONE[1:], "Grace H.", "Great, thanks", reply_to=message_id)
    answer = Interaction.objects.get(channel="whatsapp", direction="inbound", body="Great, thanks")
    assert answer.thread_id == inbound.thread_id


def test_whatsapp_outside_the_24_hour_window_fails_with_the_reason(live_server, meta, grace, alice):
    webhook = f"{live_server.url}/hooks/whatsapp"
    meta.post_text(webhook, PHONE[1:], "Grace H.", "Hi")
    inbound = Interaction.objects.get(channel="whatsapp", direction="inbound")
    meta.fail_next(fake_meta.graph_error(400, 131047, "Re-engagement message"))

    message = reply(alice, grace, inbound.thread, "whatsapp", "A day later…")

    assert message.status == "failed"
    assert "template" in message.reason
