"""Logging a phone call: one interaction on the phone channel with the call's facts in its metadata.

Calls come from staff (the form on the customer page) or from a telephony system through the API,
which knows the caller's number rather than the customer: that path resolves the number first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from django.db import transaction

from cxloop.core.actor import Actor
from cxloop.core.errors import ValidationError
from cxloop.customers import services as customer_services
from cxloop.customers.models import Customer
from cxloop.customers.types import IdentityInput
from cxloop.interactions.models import Interaction
from cxloop.interactions.services import record_interaction
from cxloop.interactions.types import InteractionInput

OUTCOMES = {
    "answered": "Answered",
    "no_answer": "No answer",
    "voicemail": "Left a voicemail",
    "busy": "Busy",
    "missed": "Missed",
    "failed": "Failed",
}
DIRECTIONS = {"inbound": "Incoming call", "outbound": "Outgoing call"}
MAX_DURATION = 24 * 3600


@dataclass
class CallInput:
    direction: str
    outcome: str
    duration_seconds: int = 0
    notes: str = ""
    recording_url: str = ""
    occurred_at: datetime | None = None
    external_id: str = ""
    from_number: str = ""  # as the telephony system saw it, for the record
    to_number: str = ""


def _duration_text(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def clean_call(data: CallInput) -> None:
    errors: dict[str, str] = {}
    if data.direction not in DIRECTIONS:
        errors["direction"] = "must be inbound or outbound"
    if data.outcome not in OUTCOMES:
        errors["outcome"] = f"must be one of {', '.join(OUTCOMES)}"
    if not 0 <= data.duration_seconds <= MAX_DURATION:
        errors["duration_seconds"] = f"must be between 0 and {MAX_DURATION}"
    elif data.outcome != "answered" and data.outcome != "voicemail" and data.duration_seconds:
        errors["duration_seconds"] = "only an answered call or a voicemail has a duration"
    if data.recording_url:
        parsed = urlparse(data.recording_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(data.recording_url) > 2000:
            errors["recording_url"] = "must be an http(s) URL"
    if len(data.notes) > 50_000:
        errors["notes"] = "must be at most 50000 characters"
    if errors:
        raise ValidationError("The call is not valid.", fields=errors)


def summary_of(data: CallInput) -> str:
    parts = [DIRECTIONS[data.direction], OUTCOMES[data.outcome].lower()]
    if data.duration_seconds:
        parts.append(_duration_text(data.duration_seconds))
    return " · ".join(parts)


def _metadata(data: CallInput) -> dict[str, Any]:
    meta: dict[str, Any] = {"outcome": data.outcome, "duration_seconds": data.duration_seconds}
    for key in ("recording_url", "from_number", "to_number"):
        if value := getattr(data, key):
            meta[key] = value
    return meta


@transaction.atomic
def log_call(actor: Actor, customer: Customer, data: CallInput) -> Interaction:
    clean_call(data)
    return record_interaction(
        actor,
        customer,
        InteractionInput(
            channel="phone",
            direction=data.direction,
            occurred_at=data.occurred_at,
            summary=summary_of(data),
            body=data.notes,
            external_id=data.external_id,
            metadata=_metadata(data),
        ),
    )


@transaction.atomic
def log_call_from_number(
    actor: Actor, number: str, data: CallInput, *, region: str | None = None, name: str = ""
) -> tuple[Interaction, Customer]:
    """A call reported by a telephony system: the customer is whoever owns the number (or a new lead)."""
    clean_call(data)
    if not number.strip():
        raise ValidationError("The customer's number is required.", fields={"number": "required"})
    resolution = customer_services.resolve_customer(
        actor, [IdentityInput(kind="phone", value=number, region=region, source="phone")], name=name, source="phone"
    )
    return log_call(actor, resolution.customer, data), resolution.customer
