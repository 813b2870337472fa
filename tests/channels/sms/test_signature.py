"""X-Twilio-Signature: known answers from Twilio's documentation and one worked by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from cxloop.channels.sms.signature import compute_signature, form_params, is_valid_signature

# The example of Twilio's security documentation (auth token "12345").
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_documentation_example_matches():
    assert compute_signature("12345", DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert is_valid_signature("12345", DOC_SIGNATURE, DOC_URL, DOC_PARAMS)


def test_parameter_order_in_the_body_does_not_matter():
    assert compute_signature("12345", DOC_URL, list(reversed(DOC_PARAMS))) == DOC_SIGNATURE


def test_hand_computed_vector():
    # Given the string Twilio signs written out by hand: URL, then name+value sorted by name.
    url = "https://cx.example.com/hooks/twilio/sms"
    params = [("To", "+15005550006"), ("Body", "Hi there"), ("From", "+447700900123"), ("NumMedia", "0")]
    signed = url + "BodyHi there" + "From+447700900123" + "NumMedia0" + "To+15005550006"
    expected = base64.b64encode(hmac.new(b"s3cret", signed.encode(), hashlib.sha1).digest()).decode()

    assert compute_signature("s3cret", url, params) == expected


def test_blank_values_are_signed():
    body = b"Body=&From=%2B447700900123&To=%2B15005550006"
    params = form_params(body)
    signature = compute_signature("tok", "https://x.example/h", params)

    assert ("Body", "") in params
    assert signature != compute_signature("tok", "https://x.example/h", [p for p in params if p[0] != "Body"])


@pytest.mark.parametrize(
    ("signed_url", "checked_url"),
    [
        ("https://cx.example.com:443/hooks/twilio/sms", "https://cx.example.com/hooks/twilio/sms"),
        ("https://cx.example.com/hooks/twilio/sms", "https://cx.example.com:443/hooks/twilio/sms"),
    ],
)
def test_default_port_written_or_not_is_the_same_url(signed_url, checked_url):
    signature = compute_signature("tok", signed_url, DOC_PARAMS)

    assert is_valid_signature("tok", signature, checked_url, DOC_PARAMS)


@pytest.mark.parametrize(
    ("token", "signature", "url", "params"),
    [
        ("12345", DOC_SIGNATURE, "https://mycompany.com/myapp.php?foo=1&bar=3", DOC_PARAMS),  # other URL
        ("12345", DOC_SIGNATURE, DOC_URL, [*DOC_PARAMS, ("Extra", "1")]),  # a parameter added
        ("54321", DOC_SIGNATURE, DOC_URL, DOC_PARAMS),  # other token
        ("12345", "", DOC_URL, DOC_PARAMS),  # none
        ("", DOC_SIGNATURE, DOC_URL, DOC_PARAMS),  # no token configured
        ("12345", "ünïcode", DOC_URL, DOC_PARAMS),  # garbage header
        ("12345", DOC_SIGNATURE, "https://mycompany.com:8443/myapp.php?foo=1&bar=2", DOC_PARAMS),  # other port
    ],
)
def test_forgeries_are_refused(token, signature, url, params):
    assert not is_valid_signature(token, signature, url, params)
