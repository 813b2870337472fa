"""The Twilio sender against a fake Twilio on loopback: the request it makes and how answers map."""

from __future__ import annotations

import base64
import socket
import time
from urllib.parse import parse_qs

import pytest

from cxloop.channels.base import OutboundPayload, SendFailed
from cxloop.channels.sms import sender as sender_module
from cxloop.channels.sms.config import TwilioConfig
from cxloop.channels.sms.sender import TwilioSender
from tests.channels.fakes.server import Recorded, Reply
from tests.channels.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, FakeTwilio

TO = "+447700900123"


@pytest.fixture
def twilio():
    with FakeTwilio() as fake:
        yield fake


def config_for(fake: FakeTwilio, **overrides: str) -> TwilioConfig:
    values = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": OUR_NUMBER,
        "api_base": fake.base_url,
        "public_url": "https://cx.example.com",
    }
    values.update(overrides)
    return TwilioConfig(**values)


def payload(text: str = "Your parcel ships today.", to: str = TO) -> OutboundPayload:
    return OutboundPayload(message_ref="msg_01", channel="sms", to=to, text=text)


def test_send_posts_the_messages_form_with_basic_auth(twilio):
    outcome = TwilioSender(config_for(twilio)).send(payload())

    [request] = twilio.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert (
        request.headers["Authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    )
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert form == {
        "To": TO,
        "From": OUR_NUMBER,
        "Body": "Your parcel ships today.",
        "StatusCallback": "https://cx.example.com/hooks/twilio/status",
    }
    assert outcome.provider_message_id in twilio.messages
    assert outcome.provider_message_id.startswith("SM")
    assert outcome.state == "queued"


def test_messaging_service_replaces_the_from_number(twilio):
    config = config_for(twilio, from_number="", messaging_service_sid="MG" + "a" * 32, public_url="")

    outcome = TwilioSender(config).send(payload())

    form = twilio.messages[outcome.provider_message_id]
    assert form["MessagingServiceSid"] == "MG" + "a" * 32
    assert "From" not in form
    assert "StatusCallback" not in form  # no public URL: Twilio would have nowhere to report


@pytest.mark.parametrize(
    ("status", "code", "message", "permanent"),
    [
        (400, 21211, "The 'To' number +4412 is not a valid phone number.", True),
        (400, 21610, "Attempt to send to unsubscribed recipient", True),
        (403, 20003, "Permission Denied", True),
        (429, 20429, "Too Many Requests", False),
        (500, 20500, "Internal Server Error", False),
        (503, 20503, "Service Unavailable", False),
    ],
)
def test_error_answers_map_to_send_failed(twilio, status, code, message, permanent):
    twilio.fail_next(status, code, message)

    with pytest.raises(SendFailed) as caught:
        TwilioSender(config_for(twilio)).send(payload())

    assert caught.value.permanent is permanent
    assert caught.value.code == str(code)
    assert message in caught.value.reason
    assert f"https://www.twilio.com/docs/errors/{code}" in caught.value.reason


def test_validation_by_the_provider_is_permanent(twilio):
    with pytest.raises(SendFailed) as caught:
        TwilioSender(config_for(twilio)).send(payload("x" * 1601))

    assert (caught.value.code, caught.value.permanent) == ("21617", True)
    assert twilio.messages == {}


def test_wrong_credentials(twilio):
    with pytest.raises(SendFailed) as caught:
        TwilioSender(config_for(twilio, auth_token="wrong")).send(payload())

    assert (caught.value.code, caught.value.permanent) == ("20003", True)


def test_empty_text_is_refused_before_calling(twilio):
    with pytest.raises(SendFailed) as caught:
        TwilioSender(config_for(twilio)).send(payload("  "))

    assert caught.value.permanent
    assert twilio.requests == []


def test_unreachable_provider_is_transient():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = TwilioConfig(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=OUR_NUMBER, api_base=f"http://127.0.0.1:{port}"
    )

    with pytest.raises(SendFailed) as caught:
        TwilioSender(config).send(payload())

    assert (caught.value.code, caught.value.permanent) == ("connection", False)


class SlowTwilio(FakeTwilio):
    def handle(self, request: Recorded) -> Reply:
        time.sleep(0.5)
        return super().handle(request)


def test_timeout_is_transient_and_says_a_retry_may_duplicate(monkeypatch):
    monkeypatch.setattr(sender_module, "READ_TIMEOUT", 0.1)

    with SlowTwilio() as slow, pytest.raises(SendFailed) as caught:
        TwilioSender(config_for(slow)).send(payload())

    assert (caught.value.code, caught.value.permanent) == ("timeout", False)
    assert "may duplicate" in caught.value.reason


class GarbledTwilio(FakeTwilio):
    def handle(self, request: Recorded) -> Reply:
        return Reply(201, b"<html>proxy page</html>", {"Content-Type": "text/html"})


def test_success_without_a_sid_is_not_retried():
    with GarbledTwilio() as garbled, pytest.raises(SendFailed) as caught:
        TwilioSender(config_for(garbled)).send(payload())

    assert (caught.value.code, caught.value.permanent) == ("bad_response", True)
