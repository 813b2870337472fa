"""Identity keys: every spelling of one address or number must give the same canonical value.

Property tests (hypothesis) over phonenumbers' own example numbers for every region it knows, written
in the ways people and systems write them, plus e-mail, social, external and anonymous identities.
"""

from __future__ import annotations

import re

import idna
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from cxloop.core.errors import ValidationError
from cxloop.customers.normalization import CanonicalIdentity, canonicalize, normalize_email, normalize_phone

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
NUMBER_TYPES = [None, PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE]
FORMATS = [
    PhoneNumberFormat.NATIONAL,
    PhoneNumberFormat.INTERNATIONAL,
    PhoneNumberFormat.E164,
    PhoneNumberFormat.RFC3966,
]
SEPARATORS = [" ", ".", "-", "", " - ", "  "]


def _example(region: str, number_type: PhoneNumberType | None) -> phonenumbers.PhoneNumber | None:
    if number_type is None:
        return phonenumbers.example_number(region)
    return phonenumbers.example_number_for_type(region, number_type)


EXAMPLES = [
    (region, number)
    for region in REGIONS
    for number_type in NUMBER_TYPES
    if (number := _example(region, number_type)) is not None
]


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _respell(text: str, draw: st.DrawFn) -> str:
    """Rewrite the separators between digit groups, optionally bracketing one group, keeping the prefix."""
    prefix_match = re.match(r"^(tel:)?\+?", text)
    prefix = prefix_match.group(0) if prefix_match else ""
    groups = re.findall(r"\d+", text[len(prefix) :])
    bracket = draw(st.integers(min_value=-1, max_value=len(groups) - 1))
    if bracket >= 0 and not prefix:
        # Area codes of national numbers are often written in brackets: (020) 7946 0018.
        groups[bracket] = f"({groups[bracket]})"
    out = groups[0]
    for group in groups[1:]:
        out += draw(st.sampled_from(SEPARATORS)) + group
    return prefix + out


@st.composite
def spelled_numbers(draw: st.DrawFn) -> tuple[str, str, str]:
    """(region, a spelling of one of its example numbers, the expected E.164)."""
    region, number = draw(st.sampled_from(EXAMPLES))
    style = draw(st.sampled_from([*FORMATS, "00"]))
    if style == "00":
        international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        spelled = "00" + _respell(international, draw)[1:]
    else:
        spelled = phonenumbers.format_number(number, style)
        if style != PhoneNumberFormat.RFC3966:
            spelled = _respell(spelled, draw)
    padding = draw(st.sampled_from(["", " ", "\t", "  \n"]))
    return region, padding + spelled + padding, _e164(number)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=spelled_numbers())
def test_phone_spellings_canonicalise_with_the_region_hint(case: tuple[str, str, str]) -> None:
    region, spelled, expected = case

    result = canonicalize("phone", spelled, region=region.lower(), customer_country="")

    assert result.value == expected
    assert result.match_value == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=spelled_numbers())
def test_phone_spellings_canonicalise_with_the_customers_country(case: tuple[str, str, str]) -> None:
    region, spelled, expected = case

    assert canonicalize("phone", spelled, customer_country=region).value == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=spelled_numbers(), other=st.sampled_from(REGIONS))
def test_the_identitys_own_region_hint_beats_the_customers_country(case: tuple[str, str, str], other: str) -> None:
    region, spelled, expected = case

    assert canonicalize("phone", spelled, region=region, customer_country=other).value == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=spelled_numbers())
def test_whatsapp_accepts_every_phone_spelling(case: tuple[str, str, str]) -> None:
    region, spelled, expected = case

    result = canonicalize("whatsapp", spelled, region=region)

    assert (result.kind, result.value) == ("whatsapp", expected)


@pytest.mark.parametrize(("region", "number"), EXAMPLES, ids=[f"{r}-{_e164(n)}" for r, n in EXAMPLES])
def test_whatsapp_wa_id_digits_are_international_whatever_the_customers_country(
    region: str, number: phonenumbers.PhoneNumber
) -> None:
    # WhatsApp's wa_id is the full international number without "+", however short the country's numbers are.
    wa_id = _e164(number)[1:]

    for country in ("GB", "US", region):
        assert canonicalize("whatsapp", wa_id, customer_country=country).value == _e164(number)


@pytest.mark.parametrize(
    ("digits", "hint", "expected"),
    [
        ("2015550123", "US", "+12015550123"),
        ("11961234567", "BR", "+5511961234567"),
        ("13123456789", "CN", "+8613123456789"),
        ("447700900123", "GB", "+447700900123"),  # not a valid national number there: still the wa_id
    ],
)
def test_whatsapp_bare_digits_with_a_region_hint_are_read_nationally_when_valid_there(
    digits: str, hint: str, expected: str
) -> None:
    assert canonicalize("whatsapp", digits, region=hint).value == expected


@settings(max_examples=100, deadline=None)
@given(case=spelled_numbers())
def test_canonical_phone_is_a_fixed_point(case: tuple[str, str, str]) -> None:
    _, _, expected = case

    assert normalize_phone(expected, region=None) == expected
    assert canonicalize("phone", expected, customer_country="JP").value == expected


def test_national_number_uses_the_default_region_when_nothing_else_says(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CXLOOP_DEFAULT_REGION = "US"

    assert canonicalize("phone", "(202) 555-0143").value == "+12025550143"

    settings.CXLOOP_DEFAULT_REGION = "GB"
    assert canonicalize("phone", "020 7946 0018").value == "+442079460018"
    assert canonicalize("phone", "01 23 45 67 89", customer_country="FR").value == "+33123456789"
    assert canonicalize("phone", "(202) 555-0143", region="US", customer_country="FR").value == "+12025550143"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("call me", "not a phone number"),
        ("12", "too short to be a phone number"),
        ("+44 12", "too short to be a phone number"),
        ("+44 1234 567890 123456", "too long to be a phone number"),
        ("07700", "a local number without its area code cannot be reached; add the area code"),
        ("+999 1234 5678", "unknown country calling code"),
        ("x" * 300, "must be at most 254 characters"),
    ],
)
def test_invalid_phone_is_refused_naming_the_field_and_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        canonicalize("phone", raw, customer_country="GB", field_prefix="identities[2].")

    assert caught.value.status == 422
    assert caught.value.fields == {"identities[2].value": reason}


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.characters(blacklist_categories=("Nd",)), min_size=1, max_size=40))
def test_text_without_digits_is_never_a_phone_number(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        canonicalize("phone", text, customer_country="GB")

    assert set(caught.value.fields) == {"value"}
    assert caught.value.fields["value"]


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=60))
def test_any_text_either_canonicalises_or_is_a_validation_error(text: str) -> None:
    # Nothing a client sends may escape as another exception (which the API would answer with a 500).
    for kind in ("phone", "whatsapp", "email"):
        outcome = _canonicalize_or_error(kind, text)
        if isinstance(outcome, ValidationError):
            assert set(outcome.fields) == {"value"}
        else:
            assert outcome.value
            assert len(outcome.value) <= 254


def _canonicalize_or_error(kind: str, text: str) -> CanonicalIdentity | ValidationError:
    try:
        return canonicalize(kind, text, customer_country="GB")
    except ValidationError as exc:
        return exc


# --- e-mail -------------------------------------------------------------------------------------------

_LOCAL_ATOM = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
_LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
IDN_DOMAINS = ["bücher.example", "münchen.de", "пример.рф", "例え.jp", "παράδειγμα.gr", "straße.de", "café.fr"]


@st.composite
def addresses(draw: st.DrawFn) -> tuple[str, str]:
    """(local part, domain) in canonical (lower-case, Unicode) form."""
    local = ".".join(draw(st.lists(_LOCAL_ATOM, min_size=1, max_size=3)))
    if draw(st.booleans()):
        domain = draw(st.sampled_from(IDN_DOMAINS))
    else:
        domain = ".".join(draw(st.lists(_LABEL, min_size=1, max_size=2))) + "." + draw(st.sampled_from(["com", "org"]))
    return local, idna.decode(idna.encode(domain, uts46=True))


def _mixed_case(text: str, draw: st.DrawFn) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    # "ß".upper() is "SS", another spelling altogether: only flip letters with a one-letter capital.
    return "".join(ch.upper() if flip and len(ch.upper()) == 1 else ch for ch, flip in zip(text, flips, strict=True))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), address=addresses())
def test_email_spellings_canonicalise_to_one_value(data: st.DataObject, address: tuple[str, str]) -> None:
    local, domain = address
    draw = data.draw
    spelled_domain = draw(st.sampled_from([domain, idna.encode(domain, uts46=True).decode()]))
    spelled = _mixed_case(local, draw) + "@" + _mixed_case(spelled_domain, draw)
    spelled = draw(st.sampled_from(["", "mailto:", "MAILTO:", "Mailto:"])) + spelled
    spelled = draw(st.sampled_from(["", " ", "\t"])) + spelled + draw(st.sampled_from(["", " ", "\n"]))

    canonical, match = normalize_email(spelled)

    assert canonical == f"{local}@{domain}"
    assert match == canonical


@settings(max_examples=200, deadline=None)
@given(address=addresses(), tag=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10))
def test_plus_addressing_keeps_the_address_but_matches_without_the_tag(address: tuple[str, str], tag: str) -> None:
    local, domain = address

    result = canonicalize("email", f"{local.upper()}+{tag}@{domain}")

    assert result.value == f"{local}+{tag.lower()}@{domain}"
    assert result.match_value == f"{local}@{domain}"


@pytest.mark.parametrize(
    ("unicode_domain", "punycode_domain"),
    [
        ("bücher.example", "xn--bcher-kva.example"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("例え.jp", "xn--r8jz45g.jp"),
    ],
)
def test_unicode_and_punycode_domains_give_the_same_identity(unicode_domain: str, punycode_domain: str) -> None:
    from_unicode = canonicalize("email", f"Ann@{unicode_domain.upper()}")
    from_punycode = canonicalize("email", f"ann@{punycode_domain.upper()}")

    assert from_unicode == from_punycode
    assert from_unicode.value == f"ann@{unicode_domain}"


@pytest.mark.parametrize(
    "raw",
    [
        "not-an-email",
        "ann@",
        "@example.com",
        "ann@@example.com",
        "ann smith@example.com",
        "ann@example..com",
        "ann@localhost",
        "Ann <ann@example.com>",
        "mailto:",
        "ann@example.com?subject=hi",
    ],
)
def test_invalid_email_is_refused_naming_the_field_with_a_reason(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        canonicalize("email", raw, field_prefix="identities[0].")

    assert caught.value.status == 422
    assert list(caught.value.fields) == ["identities[0].value"]
    reason = caught.value.fields["identities[0].value"]
    assert len(reason) > 10
    assert reason in caught.value.message


# --- social, external, anonymous, kinds -------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    handle=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.", min_size=1, max_size=20),
    network=st.sampled_from(["x", "instagram", "facebook", "tiktok"]),
)
def test_social_handles_ignore_at_sign_case_and_whitespace(data: st.DataObject, handle: str, network: str) -> None:
    spelled = data.draw(st.sampled_from(["", "@"])) + _mixed_case(handle, data.draw)
    spelled_network = _mixed_case(network, data.draw)

    result = canonicalize("social", f"  {spelled} ", network=f" {spelled_network} ")

    assert (result.kind, result.network, result.value, result.match_value) == ("social", network, handle, handle)


@pytest.mark.parametrize("kind", ["social", "external"])
@pytest.mark.parametrize("network", [None, "", "   "])
def test_social_and_external_identities_need_a_network(kind: str, network: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        canonicalize(kind, "ann", network=network, field_prefix="identities[1].")

    assert list(caught.value.fields) == ["identities[1].network"]
    assert f"a network is required for {kind} identities" in caught.value.fields["identities[1].network"]


@pytest.mark.parametrize("network", ["bad network", "x/y", "-x", "ü", "n" * 51])
def test_malformed_network_is_refused(network: str) -> None:
    with pytest.raises(ValidationError) as caught:
        canonicalize("external", "42", network=network)

    assert list(caught.value.fields) == ["network"]


@pytest.mark.parametrize("handle", ["@", "ann smith", "@ @"])
def test_social_handle_without_a_name_or_with_spaces_is_refused(handle: str) -> None:
    with pytest.raises(ValidationError) as caught:
        canonicalize("social", handle, network="x")

    assert caught.value.fields == {"value": "a handle has no spaces"}


def test_external_ids_keep_their_case_and_lose_surrounding_space() -> None:
    result = canonicalize("external", "  Cust-00A7b ", network="Shopify")

    assert (result.network, result.value, result.match_value) == ("shopify", "Cust-00A7b", "Cust-00A7b")
    assert canonicalize("external", "cust-00a7b", network="shopify").value != result.value


def test_anonymous_web_ids_are_trimmed_and_need_no_network() -> None:
    result = canonicalize("anonymous", " 7f3a-c0ffee ", network="ignored")

    assert (result.kind, result.network, result.value) == ("anonymous", "", "7f3a-c0ffee")


@pytest.mark.parametrize("kind", ["phone", "whatsapp"])
@pytest.mark.parametrize("region", ["ZZ", "uk", "X"])
def test_an_unknown_region_hint_is_refused_on_the_region_field(kind: str, region: str) -> None:
    with pytest.raises(ValidationError) as caught:
        canonicalize(kind, "020 7946 0018", region=region, field_prefix="identities[0].")

    assert caught.value.fields == {"identities[0].region": "must be an ISO 3166 two-letter country code, e.g. GB or US"}


def test_unknown_kind_is_refused_listing_the_kinds() -> None:
    with pytest.raises(ValidationError) as caught:
        canonicalize("fax", "123", field_prefix="identities[4].")

    assert caught.value.fields == {
        "identities[4].kind": "must be one of email, phone, whatsapp, social, external, anonymous"
    }
