"""The building blocks: charsets, encoded-words, file signatures, HTML sanitising."""

from __future__ import annotations

import io
import zipfile

import pytest

from cxloop.channels.email.decoding import decode_bytes, decode_words
from cxloop.channels.email.markup import sanitize_html
from cxloop.channels.email.mime import safe_filename
from cxloop.channels.email.sniff import detect_type


@pytest.mark.parametrize(
    ("data", "declared", "text", "charset", "problem"),
    [
        ("Grüße".encode(), "utf-8", "Grüße", "utf-8", ""),
        ("Grüße".encode("latin-1"), "iso-8859-1", "Grüße", "cp1252", ""),
        ("“quoted” €5".encode("cp1252"), "iso-8859-1", "“quoted” €5", "cp1252", ""),
        (b"plain", "us-ascii", "plain", "ascii", ""),
        ("Grüße".encode(), "iso-8859-1", "Grüße", "utf-8", "declared charset 'iso-8859-1' but the bytes are UTF-8"),
        (
            "Grüße".encode(),
            "us-ascii",
            "Grüße",
            "utf-8",
            "declared charset 'us-ascii' does not fit the bytes; read as UTF-8",
        ),
        ("Grüße".encode(), "x-nonsense", "Grüße", "utf-8", "unknown charset 'x-nonsense'; read as UTF-8"),
        ("Grüße".encode(), None, "Grüße", "utf-8", "no charset declared; read as UTF-8"),
        (
            "Le colis est arrivé abîmé, la théière est cassée.".encode("cp1252"),
            "unknown-8bit",
            "Le colis est arrivé abîmé, la théière est cassée.",
            "cp1252",
            "unknown charset 'unknown-8bit'; guessed cp1252",
        ),
        (
            "Dziękuję bardzo, źle się czuję, żółć".encode("cp1250"),
            "utf-8",
            "Dziękuję bardzo, źle się czuję, żółć",
            "cp1250",
            "declared charset 'utf-8' does not fit the bytes; guessed cp1250",
        ),
        (
            "Привет, как дела? Счёт получен.".encode("cp1251"),
            None,
            "Привет, как дела? Счёт получен.",
            "cp1251",
            "no charset declared; guessed cp1251",
        ),
        ("日本語のテキストです".encode("shift_jis"), "shift_jis", "日本語のテキストです", "shift_jis", ""),
        ("中文".encode("gb18030"), "gb2312", "中文", "gb18030", ""),
        (b"", "bogus", "", "utf-8", ""),
    ],
)
def test_decode_bytes(data: bytes, declared: str | None, text: str, charset: str, problem: str) -> None:
    decoded = decode_bytes(data, declared)

    assert (decoded.text, decoded.charset, decoded.problem) == (text, charset, problem)


@pytest.mark.parametrize(
    ("value", "text", "problems"),
    [
        ("=?utf-8?q?caf=C3=A9?=", "café", []),
        ("=?UTF-8?B?Y2Fmw6k=?=", "café", []),
        ("=?utf-8?b?Y2Fmw6k?=", "café", []),  # padding missing
        ("a =?utf-8?q?b?= =?utf-8?q?c?= d", "a bc d", []),  # white space between words is not text
        ("=?utf-8?B?5rOo?= =?utf-8?B?5paH?=", "注文", []),
        ("=?utf-8?B?5rM=?= =?utf-8?B?qOaWhw==?=", "注文", []),  # a character split across two words
        ("=?iso-8859-1*de?q?Gr=FC=DFe?=", "Grüße", []),  # RFC 2231 language suffix
        ("=?utf-8?q?a_b?=", "a b", []),
        ("=?utf-8?B?***?=", "=?utf-8?B?***?=", ["malformed encoded-word left as it is"]),
        ("=?utf-8?B?w6k", "=?utf-8?B?w6k", ["malformed encoded-word left as it is"]),
        ("=?bogus?q?Sch=F6n?=", "Schön", ["encoded-word: unknown charset 'bogus'; guessed cp1252"]),
        ("no words at all", "no words at all", []),
    ],
)
def test_decode_words(value: str, text: str, problems: list[str]) -> None:
    assert decode_words(value) == (text, problems)


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00", "video/mp4"),
        (
            _zip("word/document.xml", "[Content_Types].xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (_zip("xl/workbook.xml"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (_zip("notes.txt"), "application/zip"),
        (b"PK\x03\x04truncated", "application/zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "application/x-ole-storage"),
        (b"\x78\x9f\x3e\x22\x01\x00", "application/vnd.ms-tnef"),
        (b"MZ\x90\x00\x03", "application/x-msdownload"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0", "text/calendar"),
        (b"<!DOCTYPE html><html>", "text/html"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">', "image/svg+xml"),
        ("Grüße, plain text\n".encode(), "text/plain"),
        ("Grüße".encode("latin-1"), "text/plain"),
        (b"\x00\x01\x02\x03binary", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_detect_type(content: bytes, kind: str) -> None:
    assert detect_type(content) == kind


@pytest.mark.parametrize(
    ("name", "index", "safe"),
    [
        ("report.pdf", 1, "report.pdf"),
        ("../../etc/passwd", 1, "passwd"),
        ("C:\\Users\\x\\file.txt", 1, "file.txt"),
        ("invoice\u202egpj.exe", 1, "invoicegpj.exe"),
        ("bad\x00name\r\n.txt", 1, "badname.txt"),
        ("..", 2, "attachment-2.pdf"),
        ("   ", 3, "attachment-3.pdf"),
        (".hidden", 1, "hidden"),
        ("a" * 300 + ".pdf", 1, "a" * 187 + ".pdf"),
    ],
)
def test_safe_filename(name: str, index: int, safe: str) -> None:
    assert safe_filename(name, index, "application/pdf", "application/pdf") == safe


@pytest.mark.parametrize(
    ("html", "clean"),
    [
        ("<p onclick='x()'>Hi</p>", "<p>Hi</p>"),
        ("<script>alert(1)</script><b>ok</b>", "<b>ok</b>"),
        ("<style>p{}</style><i>ok</i>", "<i>ok</i>"),
        ("<a href='javascript:alert(1)'>x</a>", '<a target="_blank" rel="noopener noreferrer">x</a>'),
        (
            "<a href='https://example.com/a?b=1&amp;c=2'>x</a>",
            '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">x</a>',
        ),
        (
            "<a href='mailto:a@example.com'>m</a>",
            '<a href="mailto:a@example.com" target="_blank" rel="noopener noreferrer">m</a>',
        ),
        ("<a href='/relative'>r</a>", '<a rel="noopener noreferrer" target="_blank">r</a>'),
        ("<img src='https://tracker.example/p.gif'>", "<img>"),
        ("<img src='cid:logo@x'>", '<img src="cid:logo@x">'),
        ("<img src='data:image/png;base64,iVBORw0KGgo='>", '<img src="data:image/png;base64,iVBORw0KGgo=">'),
        ("<img src='data:text/html;base64,PHNjcmlwdD4='>", "<img>"),
        ("<iframe src='https://evil.example'></iframe>text", "text"),
        ("<div style='background:url(https://x)'>s</div>", "<div>s</div>"),
        (
            "<table><tr><td colspan='2' onmouseover='x'>c</td></tr></table>",
            '<table><tbody><tr><td colspan="2">c</td></tr></tbody></table>',
        ),
        ("<!--[if mso]><b>outlook</b><![endif]--><u>u</u>", "<u>u</u>"),
        ("<svg onload='x()'><circle/></svg>", ""),
        ("", ""),
    ],
)
def test_sanitize_html(html: str, clean: str) -> None:
    assert sanitize_html(html) == clean
