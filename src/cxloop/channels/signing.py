"""Signed webhooks of our own (social bridge in and out): HMAC-SHA256 over timestamp and body.

The header reads `t=<unix seconds>,v1=<hex>`, the signed string is `<t>.<body>`, and a signature older
than the tolerance is refused, so a captured request cannot be replayed later (the Stripe scheme).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Cxloop-Signature"
TOLERANCE_SECONDS = 300


class SignatureInvalid(Exception):  # noqa: N818 - reads as what happened
    pass


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, now: int | None = None) -> None:
    """Raise SignatureInvalid with the reason unless `header` signs `body` with `secret`, recently."""
    if not secret:
        raise SignatureInvalid("this webhook has no secret configured")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in parts or "v1" not in parts:
        raise SignatureInvalid(f"missing or malformed {SIGNATURE_HEADER} header")
    try:
        timestamp = int(parts["t"])
    except ValueError:
        raise SignatureInvalid("the signature timestamp is not a number") from None
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > TOLERANCE_SECONDS:
        raise SignatureInvalid("the signature is too old or from the future")
    expected = sign(secret, body, timestamp=timestamp).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, parts["v1"]):
        raise SignatureInvalid("the signature does not match")
