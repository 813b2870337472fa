"""The WhatsApp sender against a fake Graph API on loopback: the request it makes and how answers map."""

from __future__ import annotations

import json
import time

import pytest

from cxloop.channels.base import OutboundPayload, SendFailed, ThreadContext
from cxloop.channels.whatsapp import sender as sender_module
from cxloop.channels.whatsapp.config import WhatsAppConfig
from cxloop.channels.whatsapp.sender import WhatsAppSender
from tests.channels.fakes.meta import PHONE_NUMBER_ID, TOKEN, FakeMeta, graph_error
from tests.channels.fakes.server import Recorded, Reply

TO = "+447700900123"


@pytest.fixture
def meta():
    with FakeMeta() as fake:
        yield fake


def sender_for(fake: FakeMeta, **overrides: str) -> WhatsAppSender:
    values = {"token": TOKEN, "phone_number_id": PHONE_NUMBER_ID, "api_base": fake.api_base}
    values.update(overrides)
    return WhatsAppSender(WhatsAppConfig(**values))


def payload(text: str = "Your parcel ships today.", *, in_reply_to: str = "") -> OutboundPayload:
    return OutboundPayload(
        message_ref="msg_01", channel="whatsapp", to=TO, text=text, thread=ThreadContext(in_reply_to=in_reply_to)
    )


def test_send_posts_a_text_message_with_the_bearer_token(meta):
    outcome = sender_for(meta).send(payload())

    [request] = meta.requests
    assert request.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.body) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "447700900123",
        "type": "text",
        "text": {"body": "Your parcel ships today.", "preview_url": False},
    }
    assert outcome.provider_message_id in meta.sent
    assert outcome.state == "queued"


def test_a_reply_names_the_message_it_answers(meta):
    sender_for(meta).send(payload(in_reply_to="wamid.theirs"))

    assert json.loads(meta.requests[0].body)["context"] == {"message_id": "wamid.theirs"}


def test_outside_the_24_hour_window_needs_a_template(meta):
    meta.fail_next(
        graph_error(
            400,
            131047,
            "Re-engagement message",
            details="Message failed to send because more than 24 hours have passed since the customer last replied.",
        )
    )

    with pytest.raises(SendFailed) as caught:
        sender_for(meta).send(payload())

    assert (caught.value.code, caught.value.permanent) == ("131047", True)
    assert "template" in caught.value.reason
    assert "24 hours" in caught.value.reason


@pytest.mark.parametrize(
    ("status", "code", "permanent"),
    [
        (400, 100, True),  # invalid parameter
        (400, 131026, True),  # undeliverable
        (400, 130429, False),  # throughput limit
        (400, 131056, False),  # pair rate limit
        (429, 80007, False),
        (500, 131000, False),
        (503, 131016, False),
    ],
)
def test_error_answers_map_to_send_failed(meta, status, code, permanent):
    meta.fail_next(graph_error(status, code, f"error {code}", subcode=2494010))

    with pytest.raises(SendFailed) as caught:
        sender_for(meta).send(payload())

    assert caught.value.permanent is permanent
    assert caught.value.code == str(code)
    assert f"error {code}/2494010" in caught.value.reason
    assert "AbCdEf123" in caught.value.reason  # fbtrace_id, for Meta support


def test_wrong_token(meta):
    with pytest.raises(SendFailed) as caught:
        sender_for(meta, token="stale").send(payload())

    assert (caught.value.code, caught.value.permanent) == ("190", True)
    assert "Invalid OAuth access token" in caught.value.reason


def test_too_long_text_is_refused_before_calling(meta):
    with pytest.raises(SendFailed) as caught:
        sender_for(meta).send(payload("x" * 4097))

    assert (caught.value.code, caught.value.permanent) == ("too_long", True)
    assert meta.requests == []


class SlowMeta(FakeMeta):
    def handle(self, request: Recorded) -> Reply:
        time.sleep(0.5)
        return super().handle(request)


def test_timeout_is_transient(monkeypatch):
    monkeypatch.setattr(sender_module, "READ_TIMEOUT", 0.1)

    with SlowMeta() as slow, pytest.raises(SendFailed) as caught:
        sender_for(slow).send(payload())

    assert (caught.value.code, caught.value.permanent) == ("timeout", False)


def test_success_without_a_message_id_is_not_retried(meta):
    meta.fail_next(Reply(200, {"messaging_product": "whatsapp", "messages": []}))

    with pytest.raises(SendFailed) as caught:
        sender_for(meta).send(payload())

    assert (caught.value.code, caught.value.permanent) == ("bad_response", True)
