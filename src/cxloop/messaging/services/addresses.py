"""Addresses per channel: which identity a channel sends to, and the key an address is suppressed under."""

from __future__ import annotations

from django.conf import settings

from cxloop.core.errors import ValidationError
from cxloop.customers.models import Customer, Identity, IdentityKind
from cxloop.customers.normalization import normalize_email, normalize_phone

# Identity kinds a channel can reach, in order of preference.
CHANNEL_KINDS: dict[str, tuple[str, ...]] = {
    "email": (IdentityKind.EMAIL,),
    "sms": (IdentityKind.PHONE,),
    "whatsapp": (IdentityKind.WHATSAPP, IdentityKind.PHONE),
    "social": (IdentityKind.SOCIAL,),
    "chat": (IdentityKind.ANONYMOUS,),
}
_PHONE_CHANNELS = frozenset({"sms", "whatsapp"})


def canonical_address(channel: str, raw: str, *, region: str = "", field: str = "to") -> str:
    """The address as identities store it: a canonical email, E.164 for phones (a bare wa_id gets its "+")."""
    value = raw.strip()
    if not value:
        raise ValidationError(f"{field}: must not be empty", fields={field: "must not be empty"})
    if len(value) > 254:
        raise ValidationError(f"{field}: too long", fields={field: "must be at most 254 characters"})
    if channel == "email":
        return normalize_email(value, field=field)[0]
    if channel in _PHONE_CHANNELS:
        if channel == "whatsapp" and value.isdigit() and not value.startswith("0"):
            value = "+" + value
        return normalize_phone(value, region=region or str(settings.CXLOOP_DEFAULT_REGION), field=field)
    if channel == "social":  # "network:handle", as identities of kind social hold it in two fields
        network, _, handle = value.partition(":")
        if not handle.strip():
            raise ValidationError(f"{field}: not network:handle", fields={field: "write it as network:handle"})
        return f"{network.strip().lower()}:{handle.strip().lstrip('@').lower()}"
    return value


def _address_of(identity: Identity) -> str:
    return f"{identity.network}:{identity.value}" if identity.kind == IdentityKind.SOCIAL else identity.value


def suppression_key(channel: str, raw: str, *, field: str = "address") -> str:
    """The key a suppression is stored and looked up under: email match value (no +tag), E.164, else the value."""
    if channel == "email":
        return normalize_email(raw.strip(), field=field)[1]
    return canonical_address(channel, raw, field=field)


def _rank(identity: Identity, kinds: tuple[str, ...]) -> tuple[int, int, float, int]:
    seen = identity.last_seen_at.timestamp() if identity.last_seen_at else 0.0
    return (kinds.index(identity.kind), 0 if identity.is_verified else 1, -seen, -identity.pk)


def default_address(customer: Customer, channel: str) -> str:
    """The customer's address on `channel`: verified first, then the most recently seen, then the newest."""
    kinds = CHANNEL_KINDS.get(channel, ())
    candidates = [i for i in customer.identities.all() if i.kind in kinds]
    if not candidates:
        kind_names = " or ".join(kinds) or channel
        raise ValidationError(
            f"The customer has no {kind_names} address to send to.",
            fields={"to": f"the customer has no {kind_names} identity"},
        )
    return _address_of(min(candidates, key=lambda identity: _rank(identity, kinds)))


def chosen_address(customer: Customer, channel: str, to: str) -> str:
    """`to` when it is one of the customer's own identities for the channel (never a stranger's address)."""
    if not to:
        return default_address(customer, channel)
    wanted = canonical_address(channel, to, region=customer.country)
    kinds = CHANNEL_KINDS.get(channel, ())
    if not any(i.kind in kinds and _address_of(i) == wanted for i in customer.identities.all()):
        raise ValidationError(
            "The address is not one of the customer's.", fields={"to": "not one of this customer's identities"}
        )
    return wanted
