"""Twilio's webhook forms → inbound items and delivery updates."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.channels.base import PayloadRejected, RawPayload
from cxloop.channels.sms.adapter import TwilioSmsAdapter

FORM = "application/x-www-form-urlencoded"


def raw(params: dict[str, str] | None = None, *, data: bytes | None = None, content_type: str = FORM) -> RawPayload:
    body = data if data is not None else urlencode(params or {}).encode()
    return RawPayload(channel="sms", data=body, content_type=content_type, source="webhook:twilio")


def inbound(**overrides: str) -> dict[str, str]:
    params = {
        "MessageSid": "SM0123456789abcdef0123456789abcdef",
        "SmsSid": "SM0123456789abcdef0123456789abcdef",
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": "+447700900123",
        "To": "+15005550006",
        "Body": "Where is my parcel?",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "FromCountry": "GB",
        "ApiVersion": "2010-04-01",
    }
    params.update(overrides)
    return params


def parse(payload: RawPayload):
    return TwilioSmsAdapter().parse(payload)


def test_incoming_message():
    parsed = parse(raw(inbound()))

    assert parsed.statuses == []
    [item] = parsed.messages
    assert [(i.kind, i.value) for i in item.identities] == [("phone", "+447700900123")]
    assert item.interaction.channel == "sms"
    assert item.interaction.direction == "inbound"
    assert item.interaction.body == "Where is my parcel?"
    assert item.interaction.summary == ""
    assert item.interaction.external_id == "SM0123456789abcdef0123456789abcdef"
    assert item.thread.conversation_key == "sms:+447700900123:+15005550006"
    assert item.country == "GB"
    assert item.interaction.metadata["media"] == []
    assert item.interaction.metadata["to"] == "+15005550006"


def test_media_urls_are_kept_in_the_metadata():
    params = inbound(
        Body="",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        MediaContentType1="application/pdf",
    )

    [item] = parse(raw(params)).messages

    assert item.interaction.metadata["media"] == [
        {"url": params["MediaUrl0"], "content_type": "image/jpeg"},
        {"url": params["MediaUrl1"], "content_type": "application/pdf"},
    ]
    assert item.interaction.summary == "[2 attachments: image/jpeg, application/pdf]"


def test_empty_text_still_arrives_with_a_summary():
    [item] = parse(raw(inbound(Body=""))).messages

    assert item.interaction.body == ""
    assert item.interaction.summary == "(empty message)"


def test_odd_country_is_not_passed_on():
    [item] = parse(raw(inbound(FromCountry="Narnia"))).messages

    assert item.country == ""


@pytest.mark.parametrize(
    ("status", "error_code", "state"),
    [
        ("queued", "", "queued"),
        ("accepted", "", "queued"),
        ("sending", "", "queued"),
        ("sent", "", "sent"),
        ("delivered", "", "delivered"),
        ("read", "", "read"),
        ("undelivered", "30003", "failed"),
        ("undelivered", "30005", "undeliverable"),
        ("failed", "30006", "undeliverable"),
        ("failed", "21610", "undeliverable"),
        ("failed", "30008", "failed"),
        ("canceled", "", "failed"),
    ],
)
def test_status_callback(status, error_code, state):
    params = {
        "MessageSid": "SMabc",
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": "AC1",
        "From": "+15005550006",
        "To": "+447700900123",
    }
    if error_code:
        params["ErrorCode"] = error_code

    parsed = parse(raw(params))

    assert parsed.messages == []
    [update] = parsed.statuses
    assert (update.channel, update.provider_message_id, update.state) == ("sms", "SMabc", state)
    assert update.error_code == error_code


def test_received_status_is_an_incoming_message():
    parsed = parse(raw(inbound(MessageStatus="received")))

    assert len(parsed.messages) == 1
    assert parsed.statuses == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (raw(data=b""), "empty or not form data"),
        (raw(data=b'{"From": "+447700900123"}', content_type="application/json"), "not application/json"),
        (raw(data=b"Body=\xff\xfe&From=x"), "not UTF-8"),
        (raw(inbound(From="")), "has no From"),
        (raw({k: v for k, v in inbound().items() if k != "From"}), "has no From"),
        (raw(inbound(To="")), "has no To"),
        (raw(inbound(MessageSid="", SmsSid="")), "has no MessageSid"),
        (raw(inbound(NumMedia="lots")), "NumMedia is not a number"),
        (raw(inbound(From="whatsapp:+447700900123")), "WhatsApp message relayed by Twilio"),
        (raw({"MessageSid": "SM1", "MessageStatus": "exploded"}), "Unknown Twilio MessageStatus"),
        (raw({"MessageStatus": "delivered"}), "status callback has no MessageSid"),
    ],
)
def test_malformed_payloads_are_rejected_with_a_reason(payload, reason):
    with pytest.raises(PayloadRejected) as caught:
        parse(payload)

    assert reason in caught.value.reason


form_fields = st.dictionaries(
    st.sampled_from(["MessageSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "MessageStatus", "ErrorCode", "X"]),
    st.text(max_size=30),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200).map(lambda b: raw(data=b)), form_fields.map(raw)))
def test_any_input_parses_or_is_rejected_with_a_reason(payload):
    try:
        parsed = parse(payload)
    except PayloadRejected as rejected:
        assert rejected.reason  # noqa: PT017 - either outcome is fine; only other exceptions fail
    else:
        assert len(parsed.messages) + len(parsed.statuses) == 1
