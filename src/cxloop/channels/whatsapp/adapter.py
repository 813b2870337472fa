"""The WhatsApp Cloud API webhook (Meta Graph): `messages` changes carrying messages and statuses.

One post may hold several entries, changes, messages and statuses. Each message becomes one inbound
item on the sender's `wa_id`; each status of a message we sent becomes a delivery update. Media
arrive as ids to be fetched from the Graph API with the access token, so they are kept as references
in the metadata, not downloaded here. A payload with anything malformed is refused whole, naming the
place, so no part of it is half-recorded (the pipeline keeps it in quarantine).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from cxloop.channels.base import (
    DeliveryState,
    DeliveryStatusUpdate,
    ParsedInbound,
    ParsedPayload,
    PayloadRejected,
    RawPayload,
    ThreadHint,
)
from cxloop.channels.whatsapp.content import describe_message, dict_of
from cxloop.core.errors import CxloopError
from cxloop.customers.normalization import canonicalize
from cxloop.customers.types import IdentityInput
from cxloop.interactions.types import InteractionInput

OBJECT = "whatsapp_business_account"


def _identities(wa_id: str) -> list[IdentityInput]:
    """The WhatsApp id, and the phone number it is: so a customer known by phone (from SMS, a call, the
    shop) is recognised on WhatsApp too instead of getting a second profile."""
    found = [IdentityInput(kind="whatsapp", value=wa_id, source="whatsapp")]
    phone = IdentityInput(kind="phone", value=f"+{wa_id.lstrip('+')}", source="whatsapp")
    try:
        canonicalize(phone.kind, phone.value)
    except CxloopError:
        return found  # not a number phonenumbers accepts: the WhatsApp id alone still identifies them
    return [*found, phone]


_STATES: dict[str, DeliveryState] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "played": "read",  # a voice message was played: the strongest "seen" WhatsApp reports for it
    "failed": "failed",
}
# 131026: the message could not be delivered (not on WhatsApp, old app version, terms not accepted).
UNDELIVERABLE_CODES = frozenset({"131026"})


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadRejected(f"{where} must be a JSON object.")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadRejected(f"{where} must be a JSON array.")
    return value


def _text(value: Any, where: str, *, required: bool = True) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise PayloadRejected(f"{where} is missing or not a string.")
    return value.strip()


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _decode(payload: RawPayload) -> dict[str, Any]:
    try:
        body = json.loads(payload.data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadRejected(f"The WhatsApp webhook body is not JSON: {exc}.") from None
    body = _object(body, "The webhook body")
    if body.get("object") != OBJECT:
        raise PayloadRejected(f"object is {str(body.get('object'))[:60]!r}, expected {OBJECT!r}.")
    return body


def _names(value: dict[str, Any], where: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for index, contact in enumerate(_list(value.get("contacts"), f"{where}.contacts")):
        contact = _object(contact, f"{where}.contacts[{index}]")
        wa_id = _text(contact.get("wa_id"), f"{where}.contacts[{index}].wa_id", required=False)
        profile = dict_of(contact.get("profile"))
        name = profile.get("name")
        if wa_id and isinstance(name, str):
            names[wa_id] = name.strip()[:200]
    return names


def _message(raw: Any, where: str, *, phone_number_id: str, names: dict[str, str]) -> ParsedInbound:
    message = _object(raw, where)
    sender = _text(message.get("from"), f"{where}.from")
    message_id = _text(message.get("id"), f"{where}.id")
    kind = _text(message.get("type"), f"{where}.type", required=False) or "unknown"
    content = describe_message(kind, message)
    context = dict_of(message.get("context"))
    replied_to = _text(context.get("id"), f"{where}.context.id", required=False)
    reply_ids = tuple(i for i in (replied_to, content.reacted_to) if i)
    metadata: dict[str, Any] = {"provider": "meta", "type": kind, "phone_number_id": phone_number_id}
    metadata.update(content.metadata)
    if context.get("forwarded") or context.get("frequently_forwarded"):
        metadata["forwarded"] = True
    return ParsedInbound(
        identities=_identities(sender),
        name=names.get(sender, ""),
        interaction=InteractionInput(
            channel="whatsapp",
            direction="inbound",
            occurred_at=_timestamp(message.get("timestamp")),
            body=content.body,
            summary=content.summary,
            external_id=message_id,
            metadata=metadata,
        ),
        thread=ThreadHint(reply_to_ids=reply_ids, conversation_key=f"whatsapp:{sender}:{phone_number_id}"),
    )


def _status(raw: Any, where: str) -> DeliveryStatusUpdate | None:
    status = _object(raw, where)
    message_id = _text(status.get("id"), f"{where}.id")
    name = _text(status.get("status"), f"{where}.status").lower()
    state = _STATES.get(name)
    if state is None:
        return None  # e.g. "deleted": nothing to report about delivery
    errors = _list(status.get("errors"), f"{where}.errors")
    first = dict_of(errors[0] if errors else None)
    code = str(first.get("code") or "")
    details = dict_of(first.get("error_data")).get("details")
    message = " — ".join(str(part) for part in (first.get("title") or first.get("message"), details) if part)
    if state == "failed" and code in UNDELIVERABLE_CODES:
        state = "undeliverable"
    return DeliveryStatusUpdate(
        channel="whatsapp",
        provider_message_id=message_id,
        state=state,
        occurred_at=_timestamp(status.get("timestamp")),
        error_code=code,
        error_message=message[:1000],
    )


def _change(change: dict[str, Any], where: str, parsed: ParsedPayload) -> None:
    value = _object(change.get("value"), f"{where}.value")
    metadata = dict_of(value.get("metadata"))
    phone_number_id = _text(metadata.get("phone_number_id"), f"{where}.value.metadata.phone_number_id")
    names = _names(value, f"{where}.value")
    for index, message in enumerate(_list(value.get("messages"), f"{where}.value.messages")):
        where_message = f"{where}.value.messages[{index}]"
        parsed.messages.append(_message(message, where_message, phone_number_id=phone_number_id, names=names))
    for index, status in enumerate(_list(value.get("statuses"), f"{where}.value.statuses")):
        update = _status(status, f"{where}.value.statuses[{index}]")
        if update is not None:
            parsed.statuses.append(update)


class WhatsAppAdapter:
    channel: ClassVar[str] = "whatsapp"

    def parse(self, payload: RawPayload) -> ParsedPayload:
        body = _decode(payload)
        parsed = ParsedPayload()
        skipped: list[str] = []
        for e, entry in enumerate(_list(body.get("entry"), "entry")):
            entry = _object(entry, f"entry[{e}]")
            for c, change in enumerate(_list(entry.get("changes"), f"entry[{e}].changes")):
                change = _object(change, f"entry[{e}].changes[{c}]")
                field = str(change.get("field", ""))
                if field != "messages":
                    skipped.append(field[:60] or "(none)")
                    continue
                _change(change, f"entry[{e}].changes[{c}]", parsed)
        # Notifications of other subscribed fields (template reviews, account updates) are kept and
        # processed as nothing to record; a body with no changes at all is not a webhook we understand.
        if not parsed.messages and not parsed.statuses and not skipped:
            raise PayloadRejected("The WhatsApp webhook holds no messages or delivery statuses.")
        return parsed
