"""Twilio's webhook form bodies: an incoming message, or a status callback for a message we sent.

Both arrive as application/x-www-form-urlencoded posts. A status callback carries `MessageStatus`
(queued … delivered, undelivered, failed, read); an incoming message carries `Body` and `NumMedia`, and
at most `SmsStatus=received`. The parser tells them apart by the fields alone, so a kept payload can be
re-processed later without knowing which URL it came to.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import parse_qsl

from cxloop.channels.base import (
    DeliveryState,
    DeliveryStatusUpdate,
    ParsedInbound,
    ParsedPayload,
    PayloadRejected,
    RawPayload,
    ThreadHint,
)
from cxloop.customers.types import IdentityInput
from cxloop.interactions.types import InteractionInput

MAX_MEDIA = 10  # Twilio delivers at most ten media items with one message

# Twilio's message statuses → ours. accepted/scheduled/queued/sending are all "not yet sent".
_STATES: dict[str, DeliveryState] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "partially_delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
_INBOUND_STATES = frozenset({"received", "receiving"})
# Error codes that say the number itself cannot take messages (not a passing network problem):
# 21211 invalid 'To', 21610 recipient replied STOP, 21614 not a mobile number,
# 30005 unknown destination handset, 30006 landline or unreachable carrier.
UNDELIVERABLE_CODES = frozenset({"21211", "21610", "21614", "30005", "30006"})


def _form(payload: RawPayload) -> dict[str, str]:
    kind = payload.content_type.split(";", 1)[0].strip().lower()
    if kind and kind not in ("application/x-www-form-urlencoded", "application/octet-stream"):
        raise PayloadRejected(f"A Twilio webhook is a form (application/x-www-form-urlencoded), not {kind}.")
    try:
        text = payload.data.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadRejected("The Twilio webhook body is not UTF-8 form data.") from None
    params: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        params.setdefault(name, value)
    if not params:
        raise PayloadRejected("The Twilio webhook body is empty or not form data.")
    return params


def _required(params: dict[str, str], name: str, what: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise PayloadRejected(f"The Twilio {what} has no {name}.")
    return value


def _media(params: dict[str, str]) -> list[dict[str, str]]:
    try:
        count = int(params.get("NumMedia", "0") or "0")
    except ValueError:
        raise PayloadRejected(f"NumMedia is not a number: {params['NumMedia'][:20]!r}.") from None
    items = []
    for index in range(max(0, min(count, MAX_MEDIA))):
        url = params.get(f"MediaUrl{index}", "")
        if url:
            items.append({"url": url, "content_type": params.get(f"MediaContentType{index}", "")})
    return items


def _summary(body: str, media: list[dict[str, str]]) -> str:
    """The timeline needs a line even for a picture without words."""
    if body.strip():
        return ""
    if not media:
        return "(empty message)"
    kinds = ", ".join(item["content_type"] or "file" for item in media)
    return f"[{len(media)} attachment{'s' if len(media) > 1 else ''}: {kinds}]"


def _country(params: dict[str, str]) -> str:
    country = params.get("FromCountry", "").strip().upper()
    return country if len(country) == 2 and country.isalpha() else ""


def _message(params: dict[str, str]) -> ParsedInbound:
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid") or ""
    if not sid.strip():
        raise PayloadRejected("The Twilio message has no MessageSid.")
    sender = _required(params, "From", "message")
    recipient = _required(params, "To", "message")
    if sender.lower().startswith("whatsapp:"):
        raise PayloadRejected(
            "This is a WhatsApp message relayed by Twilio; the SMS channel takes SMS only "
            "(connect WhatsApp through the WhatsApp Cloud API webhook)."
        )
    body = params.get("Body", "")
    media = _media(params)
    metadata: dict[str, object] = {"provider": "twilio", "to": recipient, "media": media}
    for name, key in (
        ("AccountSid", "account_sid"),
        ("MessagingServiceSid", "messaging_service_sid"),
        ("NumSegments", "num_segments"),
        ("FromCountry", "from_country"),
    ):
        if params.get(name):
            metadata[key] = params[name]
    return ParsedInbound(
        identities=[IdentityInput(kind="phone", value=sender, source="sms")],
        interaction=InteractionInput(
            channel="sms",
            direction="inbound",
            body=body,
            summary=_summary(body, media),
            external_id=sid.strip(),
            metadata=metadata,
        ),
        country=_country(params),
        thread=ThreadHint(conversation_key=f"sms:{sender}:{recipient}"),
    )


def delivery_state(status: str, error_code: str) -> DeliveryState:
    state = _STATES.get(status)
    if state is None:
        raise PayloadRejected(f"Unknown Twilio MessageStatus {status[:40]!r}.")
    if state == "failed" and error_code in UNDELIVERABLE_CODES:
        return "undeliverable"
    return state


def _status(params: dict[str, str]) -> DeliveryStatusUpdate:
    sid = _required(params, "MessageSid", "status callback")
    error_code = params.get("ErrorCode", "").strip()
    return DeliveryStatusUpdate(
        channel="sms",
        provider_message_id=sid,
        state=delivery_state(params["MessageStatus"].strip().lower(), error_code),
        error_code=error_code,
        error_message=params.get("ErrorMessage", "").strip(),
    )


class TwilioSmsAdapter:
    channel: ClassVar[str] = "sms"

    def parse(self, payload: RawPayload) -> ParsedPayload:
        params = _form(payload)
        status = params.get("MessageStatus", "").strip().lower()
        if status and status not in _INBOUND_STATES:
            return ParsedPayload(statuses=[_status(params)])
        return ParsedPayload(messages=[_message(params)])
