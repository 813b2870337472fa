"""X-Hub-Signature-256 and the GET verification handshake's token check."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from cxloop.channels.whatsapp.signature import compute_signature, is_valid_signature, verify_subscription

BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_hand_computed_vector():
    # HMAC-SHA256 keyed with the app secret over the raw body, hex, prefixed "sha256=".
    expected = "sha256=" + hmac.new(b"app-secret", BODY, hashlib.sha256).hexdigest()

    assert compute_signature("app-secret", BODY) == expected
    assert is_valid_signature("app-secret", expected, BODY)


def test_known_answer():
    # Computed once with `printf 'hello' | openssl dgst -sha256 -hmac secret`.
    assert compute_signature("secret", b"hello") == (
        "sha256=88aab3ede8d3adf94d26ab90d3bafd4a2083070c3bcce9c014ee04a443847c0b"
    )


def test_upper_case_hex_is_the_same_signature():
    assert is_valid_signature(
        "app-secret", compute_signature("app-secret", BODY).upper().replace("SHA256", "sha256"), BODY
    )


@pytest.mark.parametrize(
    ("secret", "header", "body"),
    [
        ("app-secret", compute_signature("other-secret", BODY), BODY),
        ("app-secret", compute_signature("app-secret", BODY), BODY + b" "),  # body changed on the way
        ("app-secret", compute_signature("app-secret", BODY).removeprefix("sha256="), BODY),  # no prefix
        ("app-secret", "sha1=" + hmac.new(b"app-secret", BODY, hashlib.sha1).hexdigest(), BODY),  # old header
        ("app-secret", "", BODY),
        ("", compute_signature("", BODY), BODY),  # no secret configured
        ("app-secret", "sha256=ünïcode", BODY),
    ],
)
def test_forgeries_are_refused(secret, header, body):
    assert not is_valid_signature(secret, header, body)


@pytest.mark.parametrize(
    ("configured", "mode", "token", "ok"),
    [
        ("verify-me", "subscribe", "verify-me", True),
        ("verify-me", "subscribe", "verify-you", False),
        ("verify-me", "unsubscribe", "verify-me", False),
        ("", "subscribe", "", False),
    ],
)
def test_subscription_handshake(configured, mode, token, ok):
    assert verify_subscription(configured, mode, token) is ok
