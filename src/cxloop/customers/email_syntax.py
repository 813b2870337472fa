"""email-validator's syntax check with the domain step remembered: the same answer, a fraction of the cost.

`validate_email` spends almost all of its time (about 90 µs of 100 per address) on the domain: UTS-46
remapping and IDNA checks, character by character. Addresses differ, their domains mostly do not (a few
hundred cover most traffic), and the domain step depends only on the domain text and the library's
module-level settings. `validate_syntax` runs validate_email's own steps, in its order, with its helper
functions, and takes the domain step from a cache; anything out of the ordinary (a display name, a quoted
local part, an IP-literal domain, no domain) goes to `validate_email` itself. Deliverability (DNS) is
never checked, as cxloop never asks for it.

The equivalence with `validate_email(address, check_deliverability=False, allow_smtputf8=True)`, result
and error message alike, is a property test in tests/customers/test_email_syntax.py.
"""

from __future__ import annotations

import functools
import unicodedata

import email_validator
from email_validator import EmailSyntaxError, ValidatedEmail, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from email_validator.syntax import (
    split_email,
    validate_email_domain_name,
    validate_email_length,
    validate_email_local_part,
)

Split = tuple[str | None, str, str, bool, str]


def _split(address: str) -> Split:
    """split_email's answer; plain ASCII without quotes or angle brackets needs no character-by-character scan.

    In such text nothing combines with an "@" (no combining characters) and nothing quotes one, so the
    first "@" separates the local part from the domain, as split_email finds it.
    """
    if address.isascii() and "@" in address and '"' not in address and "<" not in address:
        local, _, domain = address.partition("@")
        return None, local, local, False, domain
    return split_email(address)


@functools.lru_cache(maxsize=8192)
def _domain(
    domain: str, test_environment: bool, globally_deliverable: bool, special_use: tuple[str, ...]
) -> tuple[str, str]:
    """(domain, ascii_domain) of a valid domain. Errors are not cached: each raises afresh.

    `special_use` is not read here: it is part of the key because the library's check reads
    email_validator.SPECIAL_USE_DOMAIN_NAMES, a list callers may change.
    """
    info = validate_email_domain_name(
        domain, test_environment=test_environment, globally_deliverable=globally_deliverable
    )
    return info["domain"], info["ascii_domain"]


def _full(address: str) -> ValidatedEmail:
    return validate_email(address, check_deliverability=False, allow_smtputf8=True)


def validate_syntax(address: str) -> ValidatedEmail:
    """What `validate_email(address, check_deliverability=False, allow_smtputf8=True)` returns or raises."""
    display_name, original_local, local, quoted, domain_part = _split(address)
    if display_name is not None or quoted or not domain_part or domain_part.startswith("["):
        return _full(address)  # rare forms: the library's own path, which also words their errors
    allow_empty_local, strict = email_validator.ALLOW_EMPTY_LOCAL, email_validator.STRICT
    info = validate_email_local_part(
        local, allow_smtputf8=True, allow_empty_local=allow_empty_local, quoted_local_part=False, strict=strict
    )
    result = ValidatedEmail()
    result.original = original_local + "@" + domain_part
    result.display_name = None
    result.smtputf8 = info["smtputf8"]
    normalized_local = unicodedata.normalize("NFC", local)
    if normalized_local != local:
        try:
            info = validate_email_local_part(
                normalized_local,
                allow_smtputf8=True,
                allow_empty_local=allow_empty_local,
                quoted_local_part=False,
                strict=strict,
            )
        except EmailSyntaxError as exc:
            raise EmailSyntaxError("After Unicode normalization: " + str(exc)) from exc
    result.local_part, result.ascii_local_part = info["local_part"], info["ascii_local_part"]
    if result.ascii_local_part is not None and result.ascii_local_part.lower() in CASE_INSENSITIVE_MAILBOX_NAMES:
        result.ascii_local_part = result.ascii_local_part.lower()
        result.local_part = result.local_part.lower()
    result.domain, result.ascii_domain = _domain(
        domain_part,
        email_validator.TEST_ENVIRONMENT,
        email_validator.GLOBALLY_DELIVERABLE,
        tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES),
    )
    result.normalized = result.local_part + "@" + result.domain
    result.ascii_email = (
        result.ascii_local_part + "@" + result.ascii_domain if result.ascii_local_part and result.ascii_domain else None
    )
    validate_email_length(result)
    return result
