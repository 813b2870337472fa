"""WhatsApp Cloud API webhook JSON → inbound items and delivery updates, per message type."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.channels.base import PayloadRejected, RawPayload
from cxloop.channels.whatsapp.adapter import WhatsAppAdapter

PHONE_NUMBER_ID = "106540352242922"
WA_ID = "16505551234"


def envelope(value: dict[str, Any], *, field: str = "messages") -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1022", "changes": [{"value": value, "field": field}]}],
    }


def with_message(message: dict[str, Any], *, name: str = "Sheena Nelson") -> dict[str, Any]:
    message = {
        "from": WA_ID,
        "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        "timestamp": "1749416383",
        **message,
    }
    return envelope({"contacts": [{"profile": {"name": name}, "wa_id": WA_ID}], "messages": [message]})


def parse(body: Any):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WhatsAppAdapter().parse(RawPayload(channel="whatsapp", data=data, content_type="application/json"))


def only_item(body: Any):
    parsed = parse(body)
    assert parsed.statuses == []
    [item] = parsed.messages
    return item


def test_text_message():
    item = only_item(with_message({"type": "text", "text": {"body": "Does it come in another color?"}}))

    assert [(i.kind, i.value) for i in item.identities] == [("whatsapp", WA_ID), ("phone", f"+{WA_ID}")]
    assert item.name == "Sheena Nelson"
    assert item.interaction.channel == "whatsapp"
    assert item.interaction.direction == "inbound"
    assert item.interaction.body == "Does it come in another color?"
    assert item.interaction.external_id.startswith("wamid.")
    assert item.interaction.occurred_at == datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
    assert item.thread.conversation_key == f"whatsapp:{WA_ID}:{PHONE_NUMBER_ID}"
    assert item.thread.reply_to_ids == ()
    assert item.interaction.metadata["type"] == "text"
    assert item.interaction.metadata["phone_number_id"] == PHONE_NUMBER_ID


def test_reply_threads_on_the_answered_message():
    context = {"from": "15550783881", "id": "wamid.earlier"}
    item = only_item(with_message({"type": "text", "text": {"body": "yes please"}, "context": context}))

    assert item.thread.reply_to_ids == ("wamid.earlier",)


MEDIA = {"mime_type": "image/jpeg", "sha256": "abc=", "id": "1479537139650973"}


@pytest.mark.parametrize(
    ("message", "body", "summary", "metadata"),
    [
        (
            {"type": "image", "image": {**MEDIA, "caption": "the broken lid"}},
            "the broken lid",
            "",
            {"media": [{"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "abc=", "type": "image"}]},
        ),
        (
            {"type": "image", "image": MEDIA},
            "",
            "[image]",
            {"media": [{"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "abc=", "type": "image"}]},
        ),
        (
            {"type": "document", "document": {"id": "9", "mime_type": "application/pdf", "filename": "invoice.pdf"}},
            "",
            "[document: invoice.pdf]",
            {"media": [{"id": "9", "mime_type": "application/pdf", "filename": "invoice.pdf", "type": "document"}]},
        ),
        (
            {"type": "audio", "audio": {"id": "7", "mime_type": "audio/ogg; codecs=opus", "voice": True}},
            "",
            "[voice message]",
            {"media": [{"id": "7", "mime_type": "audio/ogg; codecs=opus", "voice": True, "type": "audio"}]},
        ),
        (
            {
                "type": "location",
                "location": {"latitude": 51.5, "longitude": -0.12, "name": "Shop", "address": "1 High St"},
            },
            "Shop, 1 High St (51.5, -0.12)",
            "",
            {"location": {"latitude": 51.5, "longitude": -0.12, "name": "Shop", "address": "1 High St", "url": ""}},
        ),
        (
            {"type": "button", "button": {"payload": "TRACK_ORDER", "text": "Track my order"}},
            "Track my order",
            "",
            {"button_payload": "TRACK_ORDER"},
        ),
        (
            {
                "type": "interactive",
                "interactive": {"type": "button_reply", "button_reply": {"id": "yes-1", "title": "Yes"}},
            },
            "Yes",
            "",
            {"interactive": {"type": "button_reply", "id": "yes-1", "title": "Yes"}},
        ),
        (
            {
                "type": "interactive",
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "slot-2", "title": "Tuesday", "description": "09:00 to 12:00"},
                },
            },
            "Tuesday — 09:00 to 12:00",
            "",
            {"interactive": {"type": "list_reply", "id": "slot-2", "title": "Tuesday"}},
        ),
        (
            {
                "type": "unsupported",
                "errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown"}],
            },
            "",
            "[a message type WhatsApp does not pass on]",
            {"errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown"}]},
        ),
        (
            {
                "type": "contacts",
                "contacts": [{"name": {"formatted_name": "Ann Lee"}, "phones": [{"phone": "+44 7700 900123"}]}],
            },
            "Shared contact: Ann Lee",
            "",
            {"contacts": [{"name": {"formatted_name": "Ann Lee"}, "phones": [{"phone": "+44 7700 900123"}]}]},
        ),
        (
            {"type": "order", "order": {"catalog_id": "42", "product_items": []}},
            "",
            "[order message]",
            {"errors": [], "order": {"catalog_id": "42", "product_items": []}},
        ),
    ],
)
def test_message_types(message, body, summary, metadata):
    item = only_item(with_message(message))

    assert item.interaction.body == body
    assert item.interaction.summary == summary
    for key, value in metadata.items():
        assert item.interaction.metadata[key] == value


def test_reaction_threads_on_the_message_it_is_about():
    item = only_item(with_message({"type": "reaction", "reaction": {"message_id": "wamid.ours", "emoji": "👍"}}))

    assert item.interaction.body == "👍"
    assert item.interaction.summary == "Reacted 👍"
    assert item.thread.reply_to_ids == ("wamid.ours",)


def test_removed_reaction():
    item = only_item(with_message({"type": "reaction", "reaction": {"message_id": "wamid.ours", "emoji": ""}}))

    assert item.interaction.summary == "Removed a reaction"


def test_several_messages_and_statuses_in_one_post():
    body = envelope(
        {
            "contacts": [
                {"profile": {"name": "A"}, "wa_id": "447700900001"},
                {"profile": {"name": "B"}, "wa_id": "447700900002"},
            ],
            "messages": [
                {
                    "from": "447700900001",
                    "id": "wamid.1",
                    "timestamp": "1749416383",
                    "type": "text",
                    "text": {"body": "one"},
                },
                {
                    "from": "447700900002",
                    "id": "wamid.2",
                    "timestamp": "1749416384",
                    "type": "text",
                    "text": {"body": "two"},
                },
            ],
            "statuses": [
                {"id": "wamid.out", "status": "delivered", "timestamp": "1749416385", "recipient_id": "447700900001"}
            ],
        }
    )

    parsed = parse(body)

    assert [(m.name, m.interaction.body) for m in parsed.messages] == [("A", "one"), ("B", "two")]
    assert [(s.provider_message_id, s.state) for s in parsed.statuses] == [("wamid.out", "delivered")]


def status_body(status: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": "wamid.out", "status": status, "timestamp": "1749416385", "recipient_id": WA_ID}
    if errors is not None:
        entry["errors"] = errors
    return envelope({"statuses": [entry]})


@pytest.mark.parametrize(
    ("status", "state"),
    [("sent", "sent"), ("delivered", "delivered"), ("read", "read"), ("played", "read"), ("failed", "failed")],
)
def test_status_mapping(status, state):
    parsed = parse(status_body(status))

    [update] = parsed.statuses
    assert (update.channel, update.provider_message_id, update.state) == ("whatsapp", "wamid.out", state)
    assert update.occurred_at == datetime(2025, 6, 8, 20, 59, 45, tzinfo=UTC)


def test_failed_status_carries_the_error():
    errors = [
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {
                "details": "Message failed to send because more than 24 hours have passed since the customer last "
                "replied to this number."
            },
        }
    ]

    [update] = parse(status_body("failed", errors)).statuses

    assert update.state == "failed"
    assert update.error_code == "131047"
    assert update.error_message.startswith("Re-engagement message — Message failed to send because more than 24 hours")


def test_undeliverable_number():
    [update] = parse(status_body("failed", [{"code": 131026, "title": "Message undeliverable"}])).statuses

    assert update.state == "undeliverable"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json at all", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ([1, 2], "must be a JSON object"),
        ({"object": "page", "entry": []}, "expected 'whatsapp_business_account'"),
        ({"object": "whatsapp_business_account", "entry": {"id": 1}}, "entry must be a JSON array"),
        ({"object": "whatsapp_business_account", "entry": []}, "holds no messages or delivery statuses"),
        (envelope({"messages": []}), "holds no messages"),
        (
            envelope({"messages": [{"id": "wamid.1", "type": "text", "text": {"body": "x"}}]}),
            "messages[0].from is missing",
        ),
        (envelope({"messages": [{"from": WA_ID, "type": "text", "text": {"body": "x"}}]}), "messages[0].id is missing"),
        (envelope({"messages": ["hello"]}), "messages[0] must be a JSON object"),
        (with_message({"type": "text"}), "no text object"),
        (with_message({"type": "location", "location": {"name": "x"}}), "numeric latitude and longitude"),
        (envelope({"statuses": [{"status": "read"}]}), "statuses[0].id is missing"),
        (
            {**envelope({}), "entry": [{"changes": [{"field": "messages", "value": {"messages": []}}]}]},
            "phone_number_id",
        ),
    ],
)
def test_malformed_payloads_are_rejected_with_a_reason(body, reason):
    with pytest.raises(PayloadRejected) as caught:
        parse(body)

    assert reason in caught.value.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
message_keys = st.sampled_from(["from", "id", "timestamp", "type", "text", "image", "context", "reaction", "errors"])


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        json_values,
        st.dictionaries(message_keys, json_values, max_size=6).map(lambda m: with_message(m)),
        st.dictionaries(st.sampled_from(["id", "status", "timestamp", "errors"]), json_values).map(
            lambda s: envelope({"statuses": [s]})
        ),
    )
)
def test_any_input_parses_or_is_rejected_with_a_reason(body):
    try:
        parsed = parse(body)
    except PayloadRejected as rejected:
        assert rejected.reason  # noqa: PT017 - either outcome is fine; only other exceptions fail
    else:
        assert parsed.messages or parsed.statuses


def test_notifications_of_other_fields_are_kept_as_nothing_to_record():
    """A Meta app subscribed to more fields (template reviews…) must not fill the quarantine."""
    payload = RawPayload(
        channel="whatsapp",
        data=json.dumps(envelope({"event": "APPROVED"}, field="message_template_status_update")).encode(),
    )
    parsed = WhatsAppAdapter().parse(payload)
    assert (parsed.messages, parsed.statuses) == ([], [])
