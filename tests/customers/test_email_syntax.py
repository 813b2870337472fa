"""validate_syntax answers exactly as email-validator's validate_email does, result and error alike."""

from __future__ import annotations

from typing import Any

import email_validator
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cxloop.customers import email_syntax
from cxloop.customers.email_syntax import validate_syntax

FIELDS = [
    "original",
    "normalized",
    "local_part",
    "ascii_local_part",
    "domain",
    "ascii_domain",
    "ascii_email",
    "smtputf8",
    "display_name",
]

LOCAL_PARTS = [
    "bob",
    "Bob.Smith",
    "bob+shop",
    "PostMaster",  # a case-insensitive mailbox name (RFC 2142): lower-cased
    "SUPPORT",
    "josé",
    "e\u0301",  # not NFC: normalised, then checked again
    "用户",
    '"quoted"',
    '"with space"',
    '"a@b"',
    "",
    ".leading",
    "trailing.",
    "two..dots",
    "x" * 64,
    "x" * 65,
    "bad,comma",
    "tab\there",
    "\u200b",  # zero-width space: unsafe
]
DOMAINS = [
    "example.com",
    "EXAMPLE.COM",
    "Example.Co.Uk",
    "bücher.de",
    "BÜCHER.DE",
    "xn--bcher-kva.de",
    "例え.テスト",
    "ｅｘａｍｐｌｅ．ｃｏｍ",  # fullwidth, with an ideographic full stop
    "münchen.example",
    "localhost",
    "test",
    "mail.local",
    "example.invalid",
    "[127.0.0.1]",
    "[IPv6:::1]",
    "[300.1.1.1]",
    "",
    "-leading.com",
    "trailing-.com",
    "double..dot.com",
    "ab--cd.com",
    "under_score.com",
    "a" * 64 + ".com",
    ".".join(["a" * 60] * 5),
    "exa mple.com",
    "⒈.com",
]

tricky = st.builds(lambda local, domain: f"{local}@{domain}", st.sampled_from(LOCAL_PARTS), st.sampled_from(DOMAINS))
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
built = st.builds(
    lambda local, sep, domain: f"{local}{sep}{domain}",
    st.one_of(st.sampled_from(LOCAL_PARTS), text),
    st.sampled_from(["@", "@@", "＠", " @ ", "<", ""]),
    st.one_of(st.sampled_from(DOMAINS), text),
)


def _answer(validate: Any, address: str) -> tuple[str, Any]:
    try:
        result = validate(address)
    except EmailNotValidError as exc:
        return (type(exc).__name__, str(exc))
    return ("ok", {name: getattr(result, name) for name in FIELDS})


def _library(address: str) -> Any:
    return validate_email(address, check_deliverability=False, allow_smtputf8=True)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(address=st.one_of(tricky, built, text))
@example(address="Bob Smith <bob@example.com>")
@example(address='"Bob" <bob@example.com>')
@example(address="bob@")
@example(address="@example.com")
@example(address="no-at-sign")
@example(address=("x" * 64) + "@" + ".".join(["a" * 63] * 3) + ".com")  # too long as a whole
def test_same_answer_as_validate_email(address):
    # given / when: the library first, so its own caches cannot favour ours
    expected = _answer(_library, address)
    # then: twice, so the second answer comes from the remembered domain
    assert _answer(validate_syntax, address) == expected
    assert _answer(validate_syntax, address) == expected


@pytest.mark.parametrize("address", [f"{local}@{domain}" for local in LOCAL_PARTS for domain in DOMAINS])
def test_every_listed_spelling(address):
    assert _answer(validate_syntax, address) == _answer(_library, address)


def test_domain_is_checked_once():
    # given
    email_syntax._domain.cache_clear()
    # when
    for n in range(50):
        validate_syntax(f"person{n}@Once-Only.example.com")
    # then
    info = email_syntax._domain.cache_info()
    assert (info.misses, info.hits) == (1, 49)


def test_follows_the_library_settings(monkeypatch):
    # given: a special-use domain is refused by default, allowed in a test environment
    address = "bob@mail.test"
    refused = _answer(validate_syntax, address)
    assert refused[0] == "EmailSyntaxError"
    # when
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)
    # then
    assert _answer(validate_syntax, address) == _answer(_library, address)
    assert _answer(validate_syntax, address)[0] == "ok"
    # and: a domain the caller adds to the special-use list is refused as the library refuses it
    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", False)
    monkeypatch.setattr(
        email_validator, "SPECIAL_USE_DOMAIN_NAMES", [*email_validator.SPECIAL_USE_DOMAIN_NAMES, "corp"]
    )
    assert _answer(validate_syntax, "bob@x.corp") == _answer(_library, "bob@x.corp")
    assert _answer(validate_syntax, "bob@x.corp")[0] == "EmailSyntaxError"
