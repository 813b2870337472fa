"""Public identifiers: short, prefixed, unguessable strings exposed in URLs and the API.

Internal integer keys stay internal (joins, cursors); the prefix tells a reader of a log line or a
support ticket what kind of object an id names (`cus_…`, `int_…`), as Stripe's ids do.
"""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_public_id(prefix: str, length: int = 16) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))
