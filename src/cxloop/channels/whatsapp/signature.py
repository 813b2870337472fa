"""Meta's webhook signature: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app secret, raw body).

The HMAC is over the bytes exactly as they arrived, before any JSON decoding, so the raw body is what
is checked (and what is kept).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def compute_signature(app_secret: str, body: bytes) -> str:
    return _PREFIX + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def is_valid_signature(app_secret: str, header: str, body: bytes) -> bool:
    if not app_secret or not header.startswith(_PREFIX):
        return False
    expected = compute_signature(app_secret, body).encode("ascii")
    return hmac.compare_digest(expected, header.strip().lower().encode("utf-8"))


def verify_subscription(verify_token: str, mode: str, token: str) -> bool:
    """The GET handshake Meta sends when the webhook URL is saved: hub.mode=subscribe with our verify token."""
    if not verify_token or mode != "subscribe":
        return False
    return hmac.compare_digest(verify_token.encode("utf-8"), token.encode("utf-8"))
