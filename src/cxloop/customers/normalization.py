"""Canonical forms of identities: the keys that identity resolution matches on.

Two spellings of the same address or number must produce the same key, or the same customer becomes
two. Emails are normalised with email-validator (IDN domains in Unicode NFC, case folded); phone and
WhatsApp numbers become E.164 with phonenumbers. Each identity also gets a `match_value`, the looser
key lookups use: for email it drops "+tag" sub-addressing, so bob+shop@x.com finds bob@x.com.

Phones are accepted when they are *possible* numbers (right length for the country), not only when
phonenumbers' metadata lists the range as allocated: out-of-date metadata must never turn away a real
customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError

from cxloop.core.errors import ValidationError
from cxloop.customers.email_syntax import validate_syntax
from cxloop.customers.models import IdentityKind

_KINDS = frozenset(IdentityKind.values)  # IdentityKind.values builds a new list on every access
_NETWORK_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
_MAX_VALUE = 254
_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)
_INTERNATIONAL_RE = re.compile(r"^\D*\+")  # a "+" before the first digit: written with its country code

_PHONE_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    phonenumbers.ValidationResult.TOO_SHORT: "too short to be a phone number",
    phonenumbers.ValidationResult.TOO_LONG: "too long to be a phone number",
    phonenumbers.ValidationResult.INVALID_LENGTH: "not a valid length for a phone number of that country",
}


@dataclass(frozen=True)
class CanonicalIdentity:
    kind: str
    network: str
    value: str
    match_value: str


def _fail(field: str, reason: str) -> ValidationError:
    return ValidationError(f"{field}: {reason}", fields={field: reason})


def normalize_email(raw: str, *, field: str = "value") -> tuple[str, str]:
    """Return (canonical address, match key) or raise a ValidationError naming `field`."""
    candidate = raw.strip()
    if candidate.lower().startswith("mailto:"):
        candidate = candidate[7:]
    try:
        result = validate_syntax(candidate)  # validate_email's answer, its domain step remembered
    except EmailNotValidError as exc:
        raise _fail(field, str(exc)) from exc
    local = result.local_part.lower()
    domain = result.domain.lower()
    canonical = f"{local}@{domain}"
    base_local = local.split("+", 1)[0] or local
    return canonical, f"{base_local}@{domain}"


def normalize_phone(raw: str, *, region: str | None, field: str = "value") -> str:
    """Return the E.164 form of `raw`, reading national spellings in `region`."""
    candidate = raw.strip()
    if not candidate:
        raise _fail(field, "a phone number is required")
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    try:
        number = phonenumbers.parse(candidate, (region or "").upper() or None)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type != phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            reason = "not a phone number"
        elif _INTERNATIONAL_RE.match(candidate):
            reason = "unknown country calling code"
        else:
            reason = "a national number needs a region (country) to be read; give one or write it with +"
        raise _fail(field, reason) from exc
    verdict = phonenumbers.is_possible_number_with_reason(number)
    if verdict not in (phonenumbers.ValidationResult.IS_POSSIBLE, phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise _fail(field, _PHONE_REASONS.get(verdict, "not a valid phone number"))
    if verdict == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise _fail(field, "a local number without its area code cannot be reached; add the area code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _normalize_whatsapp(raw: str, *, region: str | None, hint: str | None, field: str) -> str:
    """WhatsApp ids (wa_id) are international numbers written as bare digits, without "+".

    Bare digits (no trunk "0", no separators) that make a valid international number are read as a wa_id,
    however short the country's numbers are (Andorra's have 9 digits), whatever the customer's country.
    Only a region given with this very identity (`hint`) says bare digits are written nationally, and only
    when they are a valid number there. Any other spelling is read as a phone number in `region`.
    """
    digits = raw.strip()
    if digits.isdigit() and not digits.startswith("0"):
        if hint and _valid_national(digits, hint):
            return normalize_phone(digits, region=hint, field=field)
        try:
            international = phonenumbers.parse("+" + digits, None)
        except phonenumbers.NumberParseException:
            international = None
        if international is not None and phonenumbers.is_valid_number(international):
            return phonenumbers.format_number(international, phonenumbers.PhoneNumberFormat.E164)
        if len(digits) > 10:  # possible though outside the metadata: still a wa_id
            try:
                return normalize_phone("+" + digits, region=None, field=field)
            except ValidationError:
                pass
    return normalize_phone(raw, region=region, field=field)


def _valid_national(digits: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(digits, region.upper()))
    except phonenumbers.NumberParseException:
        return False


def _normalize_network(network: str | None, *, kind: str, field: str) -> str:
    cleaned = (network or "").strip().lower()
    if not cleaned:
        raise _fail(field, f"a network is required for {kind} identities (e.g. 'x', 'instagram', 'shopify')")
    if not _NETWORK_RE.match(cleaned):
        raise _fail(field, "use lower-case letters, digits, '.', '_' or '-' (at most 50)")
    return cleaned


def canonicalize(
    kind: str,
    value: str,
    *,
    network: str | None = None,
    region: str | None = None,
    customer_country: str | None = None,
    field_prefix: str = "",
) -> CanonicalIdentity:
    """Validate and canonicalise one identity. Errors name the field as `<field_prefix>value` etc."""
    value_field = f"{field_prefix}value"
    if kind not in _KINDS:
        raise _fail(f"{field_prefix}kind", f"must be one of {', '.join(IdentityKind.values)}")
    if not isinstance(value, str) or not value.strip():
        raise _fail(value_field, "must not be empty")
    if len(value) > _MAX_VALUE:
        raise _fail(value_field, f"must be at most {_MAX_VALUE} characters")
    # A hint given with this very identity is the most specific evidence, then the customer's country.
    if region and kind in (IdentityKind.PHONE, IdentityKind.WHATSAPP) and region.upper() not in _REGIONS:
        raise _fail(f"{field_prefix}region", "must be an ISO 3166 two-letter country code, e.g. GB or US")
    phone_region = region or customer_country or _default_region()
    if kind == IdentityKind.EMAIL:
        canonical, match = normalize_email(value, field=value_field)
        return CanonicalIdentity(kind, "", canonical, match)
    if kind == IdentityKind.PHONE:
        e164 = normalize_phone(value, region=phone_region, field=value_field)
        return CanonicalIdentity(kind, "", e164, e164)
    if kind == IdentityKind.WHATSAPP:
        e164 = _normalize_whatsapp(value, region=phone_region, hint=region, field=value_field)
        return CanonicalIdentity(kind, "", e164, e164)
    if kind == IdentityKind.SOCIAL:
        net = _normalize_network(network, kind=kind, field=f"{field_prefix}network")
        handle = value.strip().lstrip("@").lower()
        if not handle or any(ch.isspace() for ch in handle):
            raise _fail(value_field, "a handle has no spaces")
        return CanonicalIdentity(kind, net, handle, handle)
    if kind == IdentityKind.EXTERNAL:
        net = _normalize_network(network, kind=kind, field=f"{field_prefix}network")
        external = value.strip()
        return CanonicalIdentity(kind, net, external, external)
    anonymous = value.strip()
    return CanonicalIdentity(kind, "", anonymous, anonymous)


def _default_region() -> str:
    from django.conf import settings

    return str(settings.CXLOOP_DEFAULT_REGION)
