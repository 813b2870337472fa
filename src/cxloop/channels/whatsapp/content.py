"""What a WhatsApp message says, per message type, as body + one-line summary + metadata.

The timeline needs a readable line for every message, including those without words (a photo, a
reaction, a shared location), and agents need to know what the customer picked in a button or list.
Types WhatsApp adds later are kept generically, never refused: the customer did write to us.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cxloop.channels.base import PayloadRejected

MEDIA_TYPES = ("image", "video", "sticker", "audio", "document")
_MEDIA_FIELDS = ("id", "mime_type", "sha256", "filename", "voice", "animated", "url")


@dataclass
class Content:
    body: str = ""
    summary: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    reacted_to: str = ""  # the message a reaction is about: it threads like a reply


def dict_of(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: optional parts are read without a fuss."""
    return value if isinstance(value, dict) else {}


def list_of(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _part(message: dict[str, Any], kind: str) -> dict[str, Any]:
    part = message.get(kind)
    if not isinstance(part, dict):
        raise PayloadRejected(f"A WhatsApp {kind} message has no {kind} object.")
    return part


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _text(message: dict[str, Any]) -> Content:
    body = _str(_part(message, "text").get("body"))
    return Content(body=body, summary="" if body else "(empty message)")


def _media(kind: str, message: dict[str, Any]) -> Content:
    part = _part(message, kind)
    media = {key: part[key] for key in _MEDIA_FIELDS if key in part and isinstance(part[key], str | bool)}
    media["type"] = kind
    caption = _str(part.get("caption"))
    label = "voice message" if kind == "audio" and part.get("voice") else kind
    filename = _str(part.get("filename"))
    summary = "" if caption else f"[{label}{': ' + filename if filename else ''}]"
    return Content(body=caption, summary=summary, metadata={"media": [media]})


def _location(message: dict[str, Any]) -> Content:
    part = _part(message, "location")
    latitude, longitude = part.get("latitude"), part.get("longitude")
    if not isinstance(latitude, int | float) or not isinstance(longitude, int | float):
        raise PayloadRejected("A WhatsApp location message has no numeric latitude and longitude.")
    place = ", ".join(p for p in (_str(part.get("name")), _str(part.get("address"))) if p)
    body = f"{place} ({latitude}, {longitude})" if place else f"Location ({latitude}, {longitude})"
    location = {"latitude": latitude, "longitude": longitude, "name": _str(part.get("name"))}
    location.update({"address": _str(part.get("address")), "url": _str(part.get("url"))})
    return Content(body=body, metadata={"location": location})


def _button(message: dict[str, Any]) -> Content:
    part = _part(message, "button")
    text = _str(part.get("text"))
    return Content(
        body=text, summary="" if text else "[button]", metadata={"button_payload": _str(part.get("payload"))}
    )


def _interactive(message: dict[str, Any]) -> Content:
    part = _part(message, "interactive")
    reply_type = _str(part.get("type"))
    reply = dict_of(part.get(reply_type))
    title = _str(reply.get("title")) or _str(reply.get("body"))
    description = _str(reply.get("description"))
    body = f"{title} — {description}" if title and description else title
    metadata = {"interactive": {"type": reply_type, "id": _str(reply.get("id")), "title": title}}
    return Content(body=body, summary="" if body else f"[{reply_type or 'interactive'} reply]", metadata=metadata)


def _reaction(message: dict[str, Any]) -> Content:
    part = _part(message, "reaction")
    emoji = _str(part.get("emoji"))
    target = _str(part.get("message_id"))
    summary = f"Reacted {emoji}" if emoji else "Removed a reaction"
    return Content(
        body=emoji, summary=summary, metadata={"reaction": {"emoji": emoji, "message_id": target}}, reacted_to=target
    )


def _contacts(message: dict[str, Any]) -> Content:
    cards = list_of(message.get("contacts"))
    names = [
        _str(dict_of(c.get("name")).get("formatted_name"))
        for c in cards
        if isinstance(c, dict) and isinstance(c.get("name"), dict)
    ]
    shown = ", ".join(n for n in names if n) or "a contact"
    return Content(body=f"Shared contact: {shown}", metadata={"contacts": cards[:10]})


def _unsupported(kind: str, message: dict[str, Any]) -> Content:
    errors = list_of(message.get("errors"))
    summary = "[a message type WhatsApp does not pass on]" if kind == "unsupported" else f"[{kind} message]"
    metadata: dict[str, Any] = {"errors": errors[:5]}
    if isinstance(message.get(kind), dict):
        metadata[kind] = message[kind]
    return Content(summary=summary, metadata=metadata)


_BY_TYPE: dict[str, Callable[[dict[str, Any]], Content]] = {
    "text": _text,
    "location": _location,
    "button": _button,
    "interactive": _interactive,
    "reaction": _reaction,
    "contacts": _contacts,
}


def describe_message(kind: str, message: dict[str, Any]) -> Content:
    if kind in MEDIA_TYPES:
        content = _media(kind, message)
    elif kind in _BY_TYPE:
        content = _BY_TYPE[kind](message)
    else:
        content = _unsupported(kind, message)
    if isinstance(message.get("referral"), dict):
        content.metadata["referral"] = message["referral"]  # the ad or post that started the chat
    return content
