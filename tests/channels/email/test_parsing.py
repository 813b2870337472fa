"""parse_email over the corpus of real-world-shaped mail, broken mail included."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from cxloop.channels.email.parsing import EmailParseError, normalize_subject, parse_email
from cxloop.channels.email.types import BounceInfo, ParsedEmail
from tests.channels.email.corpus_cases import CASES, CORPUS, ERRORS, read

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SPECIAL_KEYS = {"attachments", "bounce", "warnings", "no_warnings"}


def test_every_corpus_file_has_expectations() -> None:
    files = {path.name for path in CORPUS.glob("*.eml")}

    assert files == set(CASES) | set(ERRORS)
    assert len(files) >= 50


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_fields(name: str) -> None:
    expected = CASES[name]

    parsed = parse_email(read(name))

    for field_name, value in expected.items():
        if field_name not in SPECIAL_KEYS:
            assert getattr(parsed, field_name) == value, field_name
    if "attachments" in expected:
        got = [
            (a.filename, a.content_type, a.detected_type, a.size, a.content_id, a.inline) for a in parsed.attachments
        ]
        assert got == expected["attachments"]
    if "bounce" in expected:
        wanted = expected["bounce"]
        assert parsed.bounce == (BounceInfo(*wanted) if wanted is not None else None)
    for warning in expected.get("warnings", []):
        assert warning in parsed.warnings
    if expected.get("no_warnings"):
        assert parsed.warnings == []


@pytest.mark.parametrize(("name", "reason"), sorted(ERRORS.items()))
def test_unusable_input_is_refused_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(EmailParseError) as caught:
        parse_email(read(name))

    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("name", sorted(CASES))
def test_line_endings_do_not_matter(name: str) -> None:
    raw = read(name)
    if b"\r\n" in raw:
        pytest.skip("already CRLF")

    lf = parse_email(raw)
    crlf = parse_email(raw.replace(b"\n", b"\r\n"))

    if lf.message_id.endswith("@missing"):  # derived from the exact bytes, so it differs by design
        crlf = dataclasses.replace(crlf, message_id=lf.message_id)
    assert crlf == lf


def test_kinds_across_the_corpus() -> None:
    kinds = {name: parse_email(read(name)).kind for name in CASES}

    assert sorted(n for n, k in kinds.items() if k == "bounce") == [
        "dsn_bounce_permanent.eml",
        "dsn_bounce_transient.eml",
        "gmail_dsn_failure.eml",
        "mailer_daemon_bounce_exim.eml",
        "qmail_bounce.eml",
    ]
    assert sorted(n for n, k in kinds.items() if k == "auto_reply") == [
        "out_of_office_exchange.eml",
        "out_of_office_french.eml",
        "out_of_office_german.eml",
        "out_of_office_x_autoreply.eml",
        "precedence_bulk_newsletter.eml",
        "read_receipt_mdn.eml",
    ]


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("Auto-Submitted: no", "message"),
        ("Auto-Submitted: auto-generated", "auto_reply"),
        ("Auto-Submitted: auto-replied; owner-email=x@example.com", "auto_reply"),
        ("X-Autorespond: yes", "auto_reply"),
        ("Precedence: junk", "auto_reply"),
        ("Precedence: list", "message"),
        ("X-Auto-Response-Suppress: All", "auto_reply"),
        ("X-Auto-Response-Suppress: DR, RN, NRN", "message"),
        ("Subject: Out of Office AutoReply: Invoice", "auto_reply"),
        ("Subject: [Auto-Reply] Invoice", "auto_reply"),
        ("Subject: Automatische Antwort: Rechnung", "auto_reply"),
        ("Subject: Re: out of office next week?", "message"),
        ("Subject: Undeliverable: Invoice\nAuto-Submitted: auto-replied", "bounce"),
        ("Subject: Undeliverable: Invoice\nReturn-Path: <>", "bounce"),
        ("Subject: Undeliverable: Invoice", "message"),
        ("X-Failed-Recipients: gone@example.com", "bounce"),
    ],
)
def test_kind_from_headers(headers: str, kind: str) -> None:
    raw = f"From: someone@example.com\n{headers}\n\nThe message was not delivered.\n".encode()

    assert parse_email(raw).kind == kind


def test_attachment_content_is_the_decoded_bytes() -> None:
    parsed = parse_email(read("attachment_png_rfc2231_name.eml"))

    (png,) = parsed.attachments
    assert png.content.startswith(PNG_MAGIC)
    assert len(png.content) == png.size
    assert png.oversized is False


def test_forwarded_message_is_kept_whole_as_eml() -> None:
    parsed = parse_email(read("forward_rfc822.eml"))

    inner = parse_email(parsed.attachments[0].content)
    assert inner.from_address == "noreply@courier.example.net"
    assert inner.message_id == "courier-1@courier.example.net"
    assert inner.text == "Pay 1.99 EUR customs fee at http://courier.example.net/pay"


def _with_attachments(*sizes: int) -> bytes:
    parts = b"".join(
        b"--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=f%d.bin\n\n%s\n"
        % (index, b"x" * size)
        for index, size in enumerate(sizes)
    )
    head = b"From: a@example.com\nTo: b@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nhello\n"
    return head + parts + b"--b--\n"


def test_oversized_attachment_keeps_its_size_but_not_its_content() -> None:
    raw = _with_attachments(11 * 1024 * 1024, 10)

    parsed = parse_email(raw)

    big, small = parsed.attachments
    assert (big.filename, big.size, big.content, big.oversized) == ("f0.bin", 11 * 1024 * 1024, b"", True)
    assert (small.size, small.content, small.oversized) == (10, b"x" * 10, False)
    assert "attachment 'f0.bin' (11534336 bytes) is over the per-attachment limit; its content was not kept" in (
        parsed.warnings
    )


def test_total_attachment_limit_drops_the_ones_that_no_longer_fit() -> None:
    raw = _with_attachments(60, 60, 60, 20)

    parsed = parse_email(raw, max_attachment_bytes=100, max_total_bytes=150)

    assert [(a.size, a.oversized, len(a.content)) for a in parsed.attachments] == [
        (60, False, 60),
        (60, False, 60),
        (60, True, 0),
        (20, False, 20),
    ]
    assert "attachment 'f2.bin' (60 bytes) is over the total attachment limit; its content was not kept" in (
        parsed.warnings
    )


def test_derived_message_id_is_stable_and_content_bound() -> None:
    raw = read("missing_message_id.eml")

    first, again = parse_email(raw), parse_email(raw)
    other = parse_email(raw.replace(b"My mail", b"Our mail"))

    assert first.message_id == again.message_id
    assert other.message_id != first.message_id
    assert other.message_id.startswith("cxloop-")
    assert other.message_id.endswith("@missing")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Date: Mon, 6 Jan 2025 10:00:00 -0000", datetime(2025, 1, 6, 10, 0, tzinfo=UTC)),
        ("Date: 6 Jan 25 23:30 +0530", datetime(2025, 1, 6, 18, 0, tzinfo=UTC)),
        ("Date: Mon, 06 Jan 2025 10:00:00 EST", datetime(2025, 1, 6, 15, 0, tzinfo=UTC)),
        ("Date: Mon, 31 Feb 2025 10:00:00 +0000", None),
        ("Date: ", None),
    ],
)
def test_dates_are_aware_utc_or_none(header: str, expected: datetime | None) -> None:
    raw = f"From: a@example.com\n{header}\n\nbody\n".encode()

    assert parse_email(raw).date == expected


def test_ids_without_angle_brackets_and_with_comments_are_read() -> None:
    raw = (
        b"From: a@example.com\nMessage-ID: plain-id@example.com\n"
        b"In-Reply-To: <first@example.com> (Jane's message of Monday)\n"
        b"References: <r1@example.com>\n <r2@example.com> <r1@example.com>\n\nbody\n"
    )

    parsed = parse_email(raw)

    assert parsed.message_id == "plain-id@example.com"
    assert parsed.in_reply_to == "first@example.com"
    assert parsed.references == ["r1@example.com", "r2@example.com"]


def test_sender_falls_back_to_sender_header_with_a_warning() -> None:
    raw = b"From: undisclosed\nSender: Real Person <real@example.com>\n\nbody\n"

    parsed = parse_email(raw)

    assert (parsed.from_name, parsed.from_address) == ("Real Person", "real@example.com")
    assert "the From header holds no address; the sender header was used" in parsed.warnings


def test_from_without_any_address_is_refused() -> None:
    with pytest.raises(EmailParseError) as caught:
        parse_email(b"From: MAILER-DAEMON\nSubject: x\n\nbody\n")

    assert caught.value.reason == "the From header holds no email address ('MAILER-DAEMON')"


def test_nul_bytes_never_reach_the_text() -> None:
    raw = b"From: a@example.com\nSubject: a\x00b\nContent-Type: text/html\n\n<p>x\x00y</p>\n"

    parsed = parse_email(raw)

    assert "\x00" not in parsed.text + parsed.html_sanitized + parsed.subject + parsed.summary_text
    assert parsed.text == "xy"


def test_deeply_nested_mime_still_yields_the_headers() -> None:
    nested = b"".join(b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(3000))
    raw = b"From: Deep <deep@example.com>\nSubject: deep\nContent-Type: multipart/mixed; boundary=b0\n\n" + nested

    parsed = parse_email(raw)

    assert (parsed.from_address, parsed.subject, parsed.text) == ("deep@example.com", "deep", "")
    assert parsed.warnings[0] == "the parser failed (RecursionError, RecursionError); only the headers could be read"


def test_deeply_nested_html_is_not_sanitised_but_its_text_is_kept() -> None:
    body = b"<div><blockquote>" * 2000 + b"deep text"
    raw = b"From: a@example.com\nContent-Type: text/html\n\n" + body

    parsed = parse_email(raw)

    assert parsed.html_sanitized == ""
    assert parsed.text.endswith("deep text")
    assert "HTML nested deeper than 400 levels; only the text version is kept" in parsed.warnings


def test_parsed_email_is_frozen() -> None:
    parsed = parse_email(read("plain_text.eml"))

    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.subject = "changed"  # type: ignore[misc]
    assert isinstance(parsed, ParsedEmail)


@pytest.mark.parametrize(
    ("subject", "normalized"),
    [
        ("Re: Order 12", "order 12"),
        ("RE: re:  Fwd: ORDER   12", "order 12"),
        ("AW: WG: Bestellung", "bestellung"),
        ("SV: Vs: Ordre", "ordre"),
        ("TR: Commande", "commande"),
        ("Re[2]: Order", "order"),
        ("RE (3): Order", "order"),
        ("Antw: Retour 3301", "retour 3301"),
        ("Re\xa0: Votre commande", "votre commande"),
        ("[Ticket #881] Re: Replacement", "[ticket #881] re: replacement"),
        ("Re: [Ticket #881] Replacement", "[ticket #881] replacement"),
        ("Regarding the order", "regarding the order"),
        ("Réponse", "réponse"),
        ("", ""),
    ],
)
def test_normalize_subject(subject: str, normalized: str) -> None:
    assert normalize_subject(subject) == normalized
