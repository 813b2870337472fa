"""Twilio's request signature (X-Twilio-Signature), as Twilio's webhook security guide defines it.

The signed string is the full URL Twilio requested (with its query string) followed by every POST
parameter, sorted by name, each written as name + value with no separators; the signature is the
base64 of HMAC-SHA1 over it, keyed with the account's auth token. Twilio's own validators also accept
the URL with the default port added or removed, because proxies and load balancers change that part,
so this does too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

SIGNATURE_HEADER = "X-Twilio-Signature"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def form_params(body: bytes) -> list[tuple[str, str]]:
    """The POST parameters of a form body, blank values included (they are part of the signed string)."""
    return parse_qsl(body.decode("utf-8"), keep_blank_values=True)


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(auth_token.encode("utf-8"), signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as given, and the same URL with its default port written out or left off."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None:
        other = parts._replace(netloc=f"{prefix}{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=f"{prefix}{host}")
    else:
        return [url]
    return [url, urlunsplit(other)]


def is_valid_signature(auth_token: str, signature: str, url: str, params: list[tuple[str, str]]) -> bool:
    """Constant-time check of `signature` against the URL and parameters Twilio says it signed."""
    if not auth_token or not signature:
        return False
    given = signature.strip().encode("utf-8")
    return any(
        hmac.compare_digest(compute_signature(auth_token, candidate, params).encode("ascii"), given)
        for candidate in _url_variants(url)
    )
