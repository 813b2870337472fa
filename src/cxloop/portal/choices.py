"""What the preference centre shows and how its form becomes consent changes."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict

from cxloop.customers.models import Customer, IdentityKind
from cxloop.messaging import services as messaging_services
from cxloop.messaging.types import ConsentChange

# The channels a customer can manage here, with the identity kinds that make them reachable.
CHANNELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("email", "Email", (IdentityKind.EMAIL,)),
    ("sms", "Text messages (SMS)", (IdentityKind.PHONE,)),
    ("whatsapp", "WhatsApp", (IdentityKind.WHATSAPP, IdentityKind.PHONE)),
)
PURPOSES: tuple[tuple[str, str, str], ...] = (
    ("service", "Service messages", "About your orders, appointments and questions you asked us."),
    ("marketing", "News and offers", "Occasional news, tips and offers."),
)


@dataclass(frozen=True)
class Choice:
    purpose: str
    label: str
    hint: str
    allowed: bool
    field: str  # the checkbox's name


@dataclass(frozen=True)
class Row:
    channel: str
    label: str
    address: str  # masked
    choices: tuple[Choice, ...]


def mask(kind: str, value: str) -> str:
    """Enough to recognise one's own address, not enough to learn someone else's."""
    if kind == IdentityKind.EMAIL and "@" in value:
        local, domain = value.split("@", 1)
        return f"{local[:1]}{'•' * min(max(len(local) - 1, 1), 6)}@{domain}"
    return f"{'•' * max(len(value) - 3, 1)}{value[-3:]}"


def _address(customer: Customer, kinds: tuple[str, ...]) -> str:
    for kind in kinds:
        for identity in customer.identities.all():
            if identity.kind == kind:
                return mask(kind, identity.value)
    return ""


def rows_for(customer: Customer) -> list[Row]:
    """One row per channel the customer can be reached on, with the current state of each purpose."""
    rows: list[Row] = []
    for channel, label, kinds in CHANNELS:
        address = _address(customer, kinds)
        if not address:
            continue
        choices = tuple(
            Choice(
                purpose=purpose,
                label=purpose_label,
                hint=hint,
                allowed=messaging_services.consent_state(customer.pk, channel, purpose).allowed,
                field=f"{channel}.{purpose}",
            )
            for purpose, purpose_label, hint in PURPOSES
        )
        rows.append(Row(channel=channel, label=label, address=address, choices=choices))
    return rows


def changes_from_form(customer: Customer, form: QueryDict) -> list[ConsentChange]:
    """A change for each box whose state differs from the current consent (unchecked boxes are absent)."""
    changes: list[ConsentChange] = []
    for row in rows_for(customer):
        for choice in row.choices:
            wanted = form.get(choice.field) == "on"
            if wanted != choice.allowed:
                changes.append(ConsentChange(channel=row.channel, purpose=choice.purpose, granted=wanted))
    return changes
