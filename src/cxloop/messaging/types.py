"""Plain inputs of the messaging services, independent of the API, form or journey that produced them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SendRequest:
    """One message to one customer: a template (by key) with variables, or free text.

    `to` must be one of the customer's own identities; empty means their default address on the channel.
    `purpose` defaults to the template's, or "service" for free text. `quiet_hours` makes a service
    message wait out the customer's quiet hours too (marketing always does). `idempotency_key` makes a
    retried call return the message the first call made, per actor (token or user).
    """

    customer_id: str
    channel: str
    purpose: str | None = None
    template: str = ""
    locale: str = ""
    variables: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""
    subject: str = ""
    html: str = ""
    to: str = ""
    thread_id: str = ""
    quiet_hours: bool = False
    idempotency_key: str = ""
    automated: bool = False


@dataclass(frozen=True)
class ConsentChange:
    """Grant or withdraw one purpose on one channel ("*": every channel; withdrawals only for marketing)."""

    channel: str
    purpose: str
    granted: bool
    note: str = ""


@dataclass(frozen=True)
class TemplateContent:
    """The content of one locale of a template, as an author saves it (rendered with Django's template language)."""

    locale: str
    body_text: str
    subject: str = ""
    body_html: str = ""


@dataclass(frozen=True)
class ConsentState:
    """Whether messages of `purpose` may go to the customer on `channel`, and which record says so."""

    channel: str
    purpose: str
    allowed: bool
    explicit: bool  # False: no record, the default applies (service allowed, marketing not)
    source: str = ""
    at: str = ""  # ISO 8601 of the deciding record
